// The OpenAI-compatible surface against the bodies real client libraries send by default, replayed byte for byte
// (JSON.stringify drops the fields a library leaves `undefined`, as their own clients do). Each must be answered
// as the same request written with only the fields byokit honours: a field sent at the value that changes
// nothing (OpenAI's own default, or `false` for a feature off) is accepted and ignored. A value byokit cannot
// honour is refused, naming the field, before any provider is called (docs/http-api.md, "OpenAI-compatible
// surface: decisions").
import { describe, expect, it } from 'vitest';
import { PROVIDERS, type Provider } from '../keys/providers.js';
import { alice, byokitOnEveryProvider, call, mockProvidersForFile } from '../http/test-helpers.js';
import type { MockRequest } from '../testing/mock-providers.js';

const mock = mockProvidersForFile();

const hello = [{ role: 'user', content: 'Hello!' }];

/**
 * What each library sends for one user message, `model` left to fill in. Sources (the index's stored copies):
 * - LangChain JS: langchain-ai/langchainjs, libs/langchain-openai/src/chat_models.ts (`@langchain/openai` 0.3),
 *   `ChatOpenAI.invocationParams()` with the class's defaults `temperature = 1`, `topP = 1`,
 *   `frequencyPenalty = 0`, `presencePenalty = 0`, `n = 1`, `streaming = false`, `streamUsage = true`;
 *   `_generate` adds `stream: false, messages`, `_streamResponseChunks` adds `stream_options: { include_usage:
 *   true }` (streamUsage) and `stream: true`.
 * - LangChain (Python) before langchain-openai: langchain/chat_models/openai.py, `ChatOpenAI._default_params`
 *   (`model`, `max_tokens: None`, `stream: False`, `n: 1`, `temperature: 0.7`; `request_timeout` is taken by the
 *   `openai` 0.x client, not sent), `None` written as `null`.
 * - Vercel AI SDK: vercel/ai, packages/openai-compatible/src/chat/openai-compatible-chat-language-model.ts
 *   (`getArgs`, `doStream` with `includeUsage`) and packages/openai/src/chat/openai-chat-language-model.ts
 *   (`doStream` always asks for usage): every setting not given is `undefined`, so only `model`, `messages`,
 *   `stream: true` and `stream_options: { include_usage: true }` remain.
 */
const LIBRARY_BODIES: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
  [
    'LangChain JS ChatOpenAI.invoke()',
    { temperature: 1, top_p: 1, frequency_penalty: 0, presence_penalty: 0, n: 1, stream: false, messages: hello },
    { temperature: 1, top_p: 1, messages: hello },
  ],
  [
    'LangChain JS ChatOpenAI.stream()',
    {
      temperature: 1,
      top_p: 1,
      frequency_penalty: 0,
      presence_penalty: 0,
      n: 1,
      stream_options: { include_usage: true },
      messages: hello,
      stream: true,
    },
    { temperature: 1, top_p: 1, messages: hello, stream: true, stream_options: { include_usage: true } },
  ],
  [
    'LangChain (Python) ChatOpenAI before langchain-openai',
    { max_tokens: null, stream: false, n: 1, temperature: 0.7, messages: hello },
    { temperature: 0.7, messages: hello },
  ],
  [
    "the Vercel AI SDK's OpenAI and OpenAI-compatible providers, streamText()",
    { messages: hello, stream: true, stream_options: { include_usage: true } },
    { messages: hello, stream: true, stream_options: { include_usage: true } },
  ],
];

/**
 * OpenAI's own defaults for the fields byokit does not honour, sent explicitly
 * (platform.openai.com/docs/api-reference/chat/create: `frequency_penalty` and `presence_penalty` default to 0,
 * `logprobs` and `store` to false, `logit_bias` to none, `service_tier` to `auto`).
 */
const NO_EFFECT: Record<string, unknown> = {
  frequency_penalty: 0,
  presence_penalty: 0,
  logprobs: false,
  store: false,
  logit_bias: {},
  service_tier: 'auto',
};

/** Values byokit cannot honour: each refused, naming its field. */
const CANNOT_HONOUR: Array<[string, unknown]> = [
  ['frequency_penalty', 0.5],
  ['presence_penalty', -1],
  ['logprobs', true],
  ['store', true],
  ['logit_bias', { '50256': -100 }],
  ['service_tier', 'flex'],
  ['service_tier', 'priority'],
];

/** What reached the provider: enough to tell two requests apart, without what differs on every call. */
const upstream = (requests: readonly MockRequest[]) =>
  requests.map(({ provider, method, path, query, body, key }) => ({ provider, method, path, query, body, key }));

async function setUp() {
  const { byokit, catalog } = await byokitOnEveryProvider<{ provider: Provider; model: string; is_active: boolean }>(mock);
  const modelOf = (provider: Provider) => catalog.find((model) => model.provider === provider && model.is_active)!.model;
  /** The body sent, what reached the provider for it, and the answer. */
  const send = async (body: Record<string, unknown>) => {
    const before = mock.requests.length;
    const answer = (await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body }))!;
    return { answer, upstream: upstream(mock.requests.slice(before)) };
  };
  return { byokit, modelOf, send };
}

/** The text of an answer, plain or streamed, and whether a stream ended as OpenAI's clients expect. */
function textOf(answer: Awaited<ReturnType<typeof call>> & object) {
  if (!answer.headers['content-type']?.startsWith('text/event-stream')) return { text: answer.json.choices[0].message.content };
  const chunks = answer.events.filter((event) => event !== '[DONE]') as Array<{ choices: Array<{ delta: { content?: string } }> }>;
  return {
    text: chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join(''),
    done: answer.events.at(-1) === '[DONE]',
    usage: chunks.some((chunk) => chunk.choices.length === 0 && 'usage' in chunk),
  };
}

describe("each client library's default request, as the library sends it", () => {
  it.each(LIBRARY_BODIES.flatMap(([library, sent, honoured]) => PROVIDERS.map((provider) => [library, provider, sent, honoured] as const)))(
    '%s through %s: answered as the same request without the fields that change nothing',
    async (_library, provider, sent, honoured) => {
      const { byokit, modelOf, send } = await setUp();
      const model = modelOf(provider);
      const asSent = await send({ model, ...sent });
      const plain = await send({ model, ...honoured });
      await byokit.close();

      expect(asSent.answer.status, asSent.answer.text.slice(0, 300)).toBe(200);
      expect(asSent.upstream).toEqual(plain.upstream);
      expect(asSent.upstream).toHaveLength(1);
      expect(textOf(asSent.answer)).toEqual(textOf(plain.answer));
      expect(textOf(asSent.answer).text).not.toBe('');
    },
  );
});

describe("fields byokit does not honour, at OpenAI's own default", () => {
  it('are accepted and change nothing, plain and streaming, also written as null', async () => {
    const { byokit, modelOf, send } = await setUp();
    const model = modelOf('anthropic');
    for (const stream of [false, true]) {
      const plain = await send({ model, messages: hello, stream });
      const withDefaults = await send({ model, messages: hello, stream, ...NO_EFFECT });
      const withNulls = await send({
        model,
        messages: hello,
        stream,
        ...Object.fromEntries(Object.keys(NO_EFFECT).map((field) => [field, null])),
      });
      expect([withDefaults.answer.status, withNulls.answer.status], withDefaults.answer.text.slice(0, 300)).toEqual([200, 200]);
      expect(withDefaults.upstream).toEqual(plain.upstream);
      expect(withNulls.upstream).toEqual(plain.upstream);
      expect(textOf(withDefaults.answer)).toEqual(textOf(plain.answer));
    }
    await byokit.close();
  });

  it.each(CANNOT_HONOUR)('%s: %j is refused with 422 naming the field, before any provider call', async (field, value) => {
    const { byokit, modelOf, send } = await setUp();
    const { answer, upstream: sent } = await send({ model: modelOf('openai'), messages: hello, [field]: value });
    await byokit.close();
    expect(answer.status).toBe(422);
    expect(answer.json.error).toMatchObject({ code: 'validation_failed', type: 'invalid_request_error' });
    expect(answer.json.error.param.split('.')[0]).toBe(field);
    expect(answer.json.error.message).toContain(field);
    expect(sent).toEqual([]);
  });
});
