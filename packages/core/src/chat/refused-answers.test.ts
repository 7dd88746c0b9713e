// What a caller sees when a provider refuses to answer or blocks the prompt, through both chat routes, plain and
// streamed: a 200 answer with `finish_reason: "content_filter"` and whatever words the provider gave (often none),
// the provider's own token counts and their cost, one usage record, and a stream that still ends with the finish
// chunk, the usage chunk and [DONE] (docs/http-api.md, "Refusals and blocked prompts"). Each provider's answer is
// its recorded one with only the fields under test changed.
import { afterEach, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { Provider } from '../keys/providers.js';
import { admin, alice, call, testByokit } from '../http/test-helpers.js';
import { fixtureChunks, fixtureJson } from '../providers/fixtures.js';
import { eventNameFromType, startReplayServer, type ReplayAnswer, type ReplayServer } from '../providers/replay-server.js';

let servers: ReplayServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
});

type Json = Record<string, any>;

/** OpenAI's recorded answer, its words moved from `content` to `refusal`, as OpenAI writes a refusal. */
function openaiRefusal(): Json {
  const completion = fixtureJson('openai/openai-text.json') as Json;
  const message = { role: 'assistant', content: null, refusal: "I'm sorry, I can't help with that." };
  return { ...completion, choices: [{ ...completion.choices[0], message, finish_reason: 'stop' }] };
}

/** OpenAI's recorded stream, each delta's words moved from `content` to `refusal`. */
function openaiRefusalChunks(): string[] {
  return fixtureChunks('openai/openai-text.chunks.txt').map((line) => {
    const chunk = JSON.parse(line) as Json;
    for (const choice of chunk.choices) {
      const { content, ...rest } = choice.delta;
      choice.delta = typeof content === 'string' && content !== '' ? { ...rest, content: null, refusal: content } : rest;
    }
    return JSON.stringify(chunk);
  });
}

const openaiStreamedWords = fixtureChunks('openai/openai-text.chunks.txt')
  .map((line) => (JSON.parse(line) as Json).choices[0]?.delta.content ?? '')
  .join('');

/** Gemini's recorded answer as Gemini answers a prompt it blocked: no candidates, `promptFeedback.blockReason`. */
function googleBlockedPrompt(): Json {
  const { candidates: _candidates, usageMetadata, ...rest } = fixtureJson('google/google-text.json') as Json;
  return { ...rest, promptFeedback: { blockReason: 'PROHIBITED_CONTENT' }, usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 } };
}

/** Gemini's recorded stream, its first chunk's words kept and its last chunk cut by SAFETY, with no content. */
function googleBlockedMidStream(): string[] {
  const chunks = fixtureChunks('google/google-text.chunks.txt');
  const last = JSON.parse(chunks.at(-1)!) as Json;
  const { content: _content, ...candidate } = last.candidates[0];
  return [chunks[0]!, JSON.stringify({ ...last, candidates: [{ ...candidate, finishReason: 'SAFETY' }] })];
}

interface Case {
  name: string;
  provider: Provider;
  answer: ReplayAnswer;
  stream: boolean;
  /** The words the caller gets. */
  text: string;
  /** The provider's counts, as the answer and the record show them. */
  prompt: number;
  completion: number | null;
}

const cases: Case[] = [
  {
    name: 'Anthropic refusing (stop_reason refusal, anthropic-refusal.json)',
    provider: 'anthropic',
    answer: { json: fixtureJson('anthropic/anthropic-refusal.json') },
    stream: false,
    text: '',
    prompt: 18,
    completion: 5,
  },
  {
    name: 'Anthropic refusing in a stream (anthropic-refusal.chunks.txt)',
    provider: 'anthropic',
    answer: { events: fixtureChunks('anthropic/anthropic-refusal.chunks.txt'), eventName: eventNameFromType },
    stream: true,
    text: '',
    prompt: 18,
    completion: 5,
  },
  {
    name: 'OpenAI refusing (message.refusal, content null)',
    provider: 'openai',
    answer: { json: openaiRefusal() },
    stream: false,
    text: "I'm sorry, I can't help with that.",
    prompt: 16,
    completion: 363,
  },
  {
    name: 'OpenAI refusing in a stream (delta.refusal)',
    provider: 'openai',
    answer: { events: openaiRefusalChunks(), done: true },
    stream: true,
    text: openaiStreamedWords,
    prompt: 16,
    completion: 300,
  },
  {
    name: 'Gemini blocking the prompt (promptFeedback.blockReason, no candidates)',
    provider: 'google',
    answer: { json: googleBlockedPrompt() },
    stream: false,
    text: '',
    prompt: 9,
    completion: null,
  },
  {
    name: 'Gemini blocking the prompt in a stream',
    provider: 'google',
    answer: { events: [JSON.stringify(googleBlockedPrompt())] },
    stream: true,
    text: '',
    prompt: 9,
    completion: null,
  },
  {
    name: 'Gemini blocking the answer mid-stream (finishReason SAFETY, no content)',
    provider: 'google',
    answer: { events: googleBlockedMidStream() },
    stream: true,
    text: 'There are **3**',
    prompt: 9,
    completion: 23 + 185,
  },
];

async function ask(testCase: Case, route: 'native' | 'openai') {
  const server = await startReplayServer(testCase.answer);
  servers.push(server);
  const baseUrl = testCase.provider === 'openai' ? `${server.origin}/v1` : server.origin;
  const { byokit, storage } = await testByokit({ providers: { [testCase.provider]: { baseUrl, retries: 0 } }, environment: {} });
  const keyField = `${testCase.provider}_api_key`;
  await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { [keyField]: fakeProviderKey(testCase.provider) } });
  const models = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Json[];
  const model = models.find((entry) => entry.provider === testCase.provider && entry.is_active)!;
  const messages = [{ role: 'user', content: 'Hello!' }];
  const { stream } = testCase;
  const response =
    route === 'native'
      ? await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: { model_id: model.id, messages, stream } })
      : await call(byokit, 'POST', '/openai/v1/chat/completions', {
          principal: alice,
          body: { model: model.model, messages, stream, ...(stream && { stream_options: { include_usage: true } }) },
        });
  // close() waits for every call's usage record to be written.
  await byokit.close();
  return { response: response!, records: (await storage.listUsage({ limit: 10 })).records };
}

describe.each(['native', 'openai'] as const)('a refused or blocked answer on the %s chat route', (route) => {
  it.each(cases)('$name: content_filter, the provider’s words and counts, one record', async (testCase) => {
    const { response, records } = await ask(testCase, route);
    expect(response.status).toBe(200);

    let text: string;
    let finishReason: string;
    let usage: Json;
    let cost: string | null;
    if (testCase.stream) {
      const events = response.events as Array<Json | string>;
      // The finish chunk, the usage chunk, [DONE]: in that order, last.
      expect(events.at(-1)).toBe('[DONE]');
      const chunks = events.slice(0, -1) as Json[];
      const [finish, last] = chunks.slice(-2) as [Json, Json];
      expect(last.choices).toEqual([]);
      text = chunks.flatMap((chunk) => chunk.choices.map((choice: Json) => choice.delta.content ?? '')).join('');
      finishReason = finish.choices[0].finish_reason;
      expect(chunks.slice(0, -2).every((chunk) => chunk.choices[0].finish_reason === null)).toBe(true);
      usage = last.usage;
      cost = route === 'native' ? last.usage.cost_usd : last.byokit.cost_usd;
    } else {
      const choice = response.json.choices[0] as Json;
      text = choice.message.content;
      finishReason = choice.finish_reason;
      usage = response.json.usage;
      cost = route === 'native' ? usage.cost_usd : response.json.byokit.cost_usd;
    }
    expect(finishReason).toBe('content_filter');
    expect(text).toBe(testCase.text);
    // A count the provider did not report is null natively, 0 in OpenAI's format (which requires a number).
    expect([usage.prompt_tokens, usage.completion_tokens]).toEqual([
      testCase.prompt,
      route === 'native' ? testCase.completion : (testCase.completion ?? 0),
    ]);

    expect(records).toHaveLength(1);
    const [record] = records;
    expect(record).toMatchObject({ status: 'ok', inputTokens: testCase.prompt, outputTokens: testCase.completion });
    expect(cost).not.toBeNull();
    expect(record!.costUsd).toBe(cost);
    expect(Number(cost)).toBeGreaterThan(0);
  });
});
