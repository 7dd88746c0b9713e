// The OpenAI-compatible surface against the native chat route, request by request: seeded chat requests, each
// sent through both (written the way each surface takes it, in any of the ways it takes it), must reach the
// provider as the same request and come back as the same answer, or be refused alike.
import { describe, expect, it } from 'vitest';
import { PROVIDERS, type Provider } from '../keys/providers.js';
import { alice, byokitOnEveryProvider, call, mockProvidersForFile } from '../http/test-helpers.js';
import { seededRandom } from '../testing/seeded-random.js';
import type { MockRequest } from '../testing/mock-providers.js';

const COUNT = Number(process.env.SEEDED_COUNT ?? 150);
const SEED = Number(process.env.SEEDED_SEED ?? 20261204);

const mock = mockProvidersForFile();

interface CatalogEntry {
  id: string;
  provider: Provider;
  model: string;
  is_active: boolean;
  max_output_tokens: number;
}
interface NativeMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

const TEXTS = ['Hello!', 'Be brief.', '', ' ', 'two\nlines', 'é 漢字 🙂', 'a\n\nb', 'x'.repeat(300), '{"json": true}', 'Stop here.'];
const STOPS = ['\n', 'END', 'Stop', '🙂', 'x'.repeat(200), 'x'.repeat(201), ''];

/** A native chat body: mostly valid, now and then past a limit (a range, a model's output limit, only system messages). */
function nativeBody(random: () => number, model: CatalogEntry): Record<string, unknown> {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const maybe = (chance: number) => random() < chance;
  const messages: NativeMessage[] = Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
    role: pick(['system', 'user', 'user', 'assistant'] as const),
    content: pick(TEXTS),
  }));
  return {
    model_id: model.id,
    messages,
    ...(maybe(0.7) && { max_tokens: pick([1, 16, 1024, model.max_output_tokens, model.max_output_tokens + 1]) }),
    ...(maybe(0.4) && { temperature: pick([0, 0.5, 1, 1.5, 2, 2.5]) }),
    ...(maybe(0.3) && { top_p: pick([0.1, 0.5, 1]) }),
    ...(maybe(0.3) && { stop: maybe(0.5) ? pick(STOPS) : Array.from({ length: Math.floor(random() * 6) }, () => pick(STOPS)) }),
    ...(maybe(0.4) && { stream: maybe(0.8) }),
  };
}

/** The same request as the OpenAI-compatible surface takes it, in one of the several ways it may be written. */
function asOpenAI(random: () => number, native: Record<string, unknown>, model: CatalogEntry): Record<string, unknown> {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const maybe = (chance: number) => random() < chance;
  // A field the native request leaves out: left out here too, or sent as null ("not given", as OpenAI takes it).
  const field = (name: string, value: unknown) => (value !== undefined ? { [name]: value } : maybe(0.3) ? { [name]: null } : {});
  const messages = (native.messages as NativeMessage[]).map((message) => ({
    role: message.role === 'system' && maybe(0.5) ? 'developer' : message.role,
    // Text parts are joined with a newline: split at newlines, they make the same content.
    content: maybe(0.5) ? message.content : message.content.split('\n').map((text) => ({ type: 'text', text })),
  }));
  const maxTokens = native.max_tokens;
  const tokenFields =
    maxTokens === undefined
      ? { ...field('max_tokens', undefined), ...field('max_completion_tokens', undefined) }
      : pick([
          { max_tokens: maxTokens },
          { max_completion_tokens: maxTokens },
          { max_tokens: maxTokens, max_completion_tokens: maxTokens },
        ]);
  const streamed = native.stream === true;
  return {
    model: pick([model.model, model.id, `${model.provider}/${model.model}`]),
    messages,
    ...tokenFields,
    ...field('temperature', native.temperature),
    ...field('top_p', native.top_p),
    ...field('stop', native.stop),
    ...field('stream', native.stream),
    ...(streamed && maybe(0.7) && { stream_options: { include_usage: true } }),
    ...(maybe(0.2) && { n: 1 }),
    ...(maybe(0.2) && { user: 'someone' }),
  };
}

/** What reached the provider: enough to tell two requests apart, without what differs on every call. */
const upstream = (requests: readonly MockRequest[]) =>
  requests.map(({ provider, method, path, query, body, key }) => ({ provider, method, path, query, body, key }));

/** An answer reduced to what both surfaces say: the text, why it stopped, and the provider's token counts. */
function gist(response: NonNullable<Awaited<ReturnType<typeof call>>>) {
  if (response.status !== 200) return { status: response.status, code: response.json?.error?.code };
  const choice = (chunk: any) => chunk.choices?.[0];
  if (!response.headers['content-type']?.startsWith('text/event-stream')) {
    const { usage } = response.json;
    return {
      status: 200,
      text: choice(response.json).message.content,
      finish: choice(response.json).finish_reason,
      tokens: usage.prompt_tokens,
    };
  }
  const chunks = response.events.filter((event) => event !== '[DONE]') as any[];
  return {
    status: 200,
    text: chunks.map((chunk) => choice(chunk)?.delta?.content ?? '').join(''),
    finish: chunks.map((chunk) => choice(chunk)?.finish_reason).find((reason) => reason != null),
    done: response.events.at(-1) === '[DONE]',
  };
}

describe('the OpenAI-compatible surface and the native chat route', () => {
  it(`send each provider the same request and answer alike, for ${COUNT} seeded requests written either way`, async () => {
    const { byokit, catalog } = await byokitOnEveryProvider<CatalogEntry>(mock);
    const models = catalog.filter((model) => model.is_active);
    expect(new Set(models.map((model) => model.provider))).toEqual(new Set(PROVIDERS));
    const random = seededRandom(SEED);
    const outcomes = new Map<string, number>();
    for (let index = 0; index < COUNT; index++) {
      const model = models[Math.floor(random() * models.length)]!;
      const native = nativeBody(random, model);
      const openAI = asOpenAI(random, native, model);
      const described = `request ${index}: native ${JSON.stringify(native).slice(0, 300)}; OpenAI ${JSON.stringify(openAI).slice(0, 300)}`;

      const before = mock.requests.length;
      const nativeAnswer = (await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: native }))!;
      const between = mock.requests.length;
      const openAIAnswer = (await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: openAI }))!;
      const nativeUpstream = upstream(mock.requests.slice(before, between));
      const openAIUpstream = upstream(mock.requests.slice(between));

      expect(openAIUpstream, described).toEqual(nativeUpstream);
      const expected = gist(nativeAnswer);
      expect(gist(openAIAnswer), `${described}: ${openAIAnswer.text.slice(0, 300)}`).toEqual(expected);
      const outcome = `${model.provider} ${expected.status}${'code' in expected ? ` ${expected.code}` : ''}`;
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    await byokit.close();
    // Both kinds of outcome, on every provider: answers, and refusals before any provider was called.
    for (const provider of PROVIDERS) {
      expect(outcomes.get(`${provider} 200`), JSON.stringify([...outcomes])).toBeGreaterThan(5);
      expect(outcomes.get(`${provider} 422 validation_failed`), JSON.stringify([...outcomes])).toBeGreaterThan(2);
    }
  }, 60_000);
});
