import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isByokitError, type ErrorCode } from '../errors.js';
import { admin, alice, call, testByokit } from '../http/test-helpers.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS, type Provider } from '../keys/providers.js';
import type { Logger } from '../logging/logger.js';
import type { UsageRecord } from '../metering/usage-record.js';
import { fixtureChunks, fixtureJson } from '../providers/fixtures.js';
import { startReplayServer, type ReplayAnswer, type ReplayServer } from '../providers/replay-server.js';
import type { Storage } from '../storage/storage.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { seededRandom } from '../testing/seeded-random.js';

// A provider's answer is input byokit did not write: a proxy, a new API version or a fault upstream can send
// anything. Seeded mutations of the recorded real answers (values replaced, bytes cut, inserted or repeated,
// events shuffled, other statuses and headers) go through both chat routes, plain and streamed. Whatever comes
// back, the client gets a completion or a provider error in the route's shape, never an internal error nor a
// piece of a key, and every call leaves one usage record byokit can bill.

const CASES = 600;
const random = seededRandom(20261204);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

const keys: Record<Provider, string> = {
  anthropic: fakeProviderKey('anthropic'),
  openai: fakeProviderKey('openai'),
  google: fakeProviderKey('google'),
};

const PLAIN: Record<Provider, string[]> = {
  anthropic: ['anthropic/anthropic-text.json', 'anthropic/anthropic-refusal.json', 'anthropic/anthropic-clear-thinking.1.json'],
  openai: ['openai/openai-text.json'],
  google: ['google/google-text.json', 'google/google-reasoning.json'],
};
const STREAMED: Record<Provider, string[]> = {
  anthropic: [
    'anthropic/anthropic-text.chunks.txt',
    'anthropic/anthropic-clear-thinking.1.chunks.txt',
    'anthropic/anthropic-code-execution-20260120-prompt-cache.1.chunks.txt',
    'anthropic/anthropic-message-delta-input-tokens.chunks.txt',
  ],
  openai: ['openai/openai-text.chunks.txt'],
  google: ['google/google-text.chunks.txt', 'google/google-reasoning.chunks.txt'],
};
const REFUSALS = [
  JSON.stringify(fixtureJson('openai/reasoning-model-legacy-parameter-error.json')),
  JSON.stringify(fixtureJson('google/google-429-retry-info.json')),
  '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
  '<html><body>502 Bad Gateway</body></html>',
  '',
  'x'.repeat(100_000),
];

/** Values put where the recorded answer had another: counts at and past what a number holds exactly, wrong types. */
const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 29,
  2 ** 29 + 1,
  2 ** 31,
  2 ** 50,
  2 ** 50 + 1,
  Number.MAX_SAFE_INTEGER,
  2 ** 53 + 2,
  1e308,
  '',
  '12',
  '\u0000',
  '\ud800',
  [],
  {},
  'x'.repeat(10_000),
];

type Path = Array<string | number>;

function pathsIn(value: unknown, prefix: Path = []): Path[] {
  if (Array.isArray(value)) return [prefix, ...value.flatMap((item, index) => pathsIn(item, [...prefix, index]))];
  if (value !== null && typeof value === 'object')
    return [prefix, ...Object.entries(value).flatMap(([key, item]) => pathsIn(item, [...prefix, key]))];
  return [prefix];
}

/** One value of `json` replaced or removed; numbers (the token counts byokit adds and bills) half the time. */
function mutateJson(json: unknown): unknown {
  const copy = structuredClone(json) as Record<string | number, unknown>;
  const paths = pathsIn(copy).filter((path) => path.length > 0);
  const numbers = paths.filter((path) => typeof path.reduce<any>((value, step) => value[step], copy) === 'number');
  const path = pick(numbers.length > 0 && random() < 0.5 ? numbers : paths);
  const parent = path.slice(0, -1).reduce<any>((value, step) => value[step], copy);
  const last = path[path.length - 1]!;
  if (random() < 0.2) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = pick(HOSTILE_VALUES);
  return copy;
}

/** The text cut at a random place, or with bytes inserted, dropped or repeated there. */
function mutateText(text: string): string {
  const at = Math.floor(random() * (text.length + 1));
  const roll = random();
  if (roll < 0.3) return text.slice(0, at);
  if (roll < 0.55)
    return (
      text.slice(0, at) + pick(['\u0000', '\r', '\n\n', 'data: ', ': ping\n', '{', '"', '\\', '\ud800', 'event: error\n']) + text.slice(at)
    );
  if (roll < 0.8) return text.slice(0, at) + text.slice(at + Math.floor(random() * 200));
  return text.slice(0, at) + text.slice(Math.max(0, at - 120), at) + text.slice(at);
}

/** Events on the wire as each provider sends them: Anthropic names each one, OpenAI ends with `[DONE]`. */
function eventStream(provider: Provider, lines: string[]): string {
  const named = (line: string): string => {
    if (provider !== 'anthropic') return '';
    const type = /^\{"type":"([a-z_]+)"/.exec(line)?.[1];
    return type ? `event: ${type}\n` : '';
  };
  return lines.map((line) => `${named(line)}data: ${line}\n\n`).join('') + (provider === 'openai' ? 'data: [DONE]\n\n' : '');
}

/** An upstream (or a proxy before it) repeating the caller's key in an error, in the shapes it may take. */
function keyEcho(provider: Provider): string {
  const key = keys[provider];
  return pick([
    `Incorrect API key provided: ${key}`,
    `upstream proxy failed for GET /v1/messages?x-api-key%3D${key}`,
    `relay%20${key}%20refused`,
    `key1${key}`,
    `received ${key.slice(13)}`,
    `received ${key.slice(0, 40)} ${key.slice(40)}`,
  ]);
}

/** An error body, or a stream's error event, in the provider's own shape, its message echoing the key. */
function echoingError(provider: Provider): string {
  const message = keyEcho(provider);
  if (provider === 'anthropic') return JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message } });
  if (provider === 'google') return JSON.stringify({ error: { code: 503, message, status: 'UNAVAILABLE' } });
  return JSON.stringify({ error: { message, type: 'server_error', code: null } });
}

function hostileAnswer(provider: Provider, stream: boolean): ReplayAnswer {
  const roll = random();
  if (stream && roll < 0.08) {
    const lines = fixtureChunks(pick(STREAMED[provider]));
    return { raw: eventStream(provider, [...lines.slice(0, Math.floor(random() * 4)), echoingError(provider)]) };
  }
  if (stream && roll < 0.8) {
    const lines = fixtureChunks(pick(STREAMED[provider]));
    if (roll < 0.35) {
      const index = Math.floor(random() * lines.length);
      lines[index] = JSON.stringify(mutateJson(JSON.parse(lines[index]!)));
      return { raw: eventStream(provider, lines) };
    }
    if (roll < 0.7) return { raw: mutateText(eventStream(provider, lines)) };
    return {
      raw: eventStream(
        provider,
        lines.sort(() => random() - 0.5),
      ),
    };
  }
  if (!stream && roll < 0.75) {
    const recorded = fixtureJson(pick(PLAIN[provider]));
    if (roll < 0.5) return { json: mutateJson(recorded) };
    return { raw: mutateText(JSON.stringify(recorded)), headers: { 'content-type': 'application/json' } };
  }
  const status = pick([200, 204, 302, 400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 504, 529]);
  const headers: Record<string, string> = { 'content-type': pick(['application/json', 'text/html', 'text/event-stream']) };
  if (random() < 0.5)
    headers['retry-after'] = pick([
      '1',
      '0',
      '-5',
      '1e309',
      'soon',
      'Wed, 21 Oct 2015 07:28:00 GMT',
      '99999999999999999999',
      '9'.repeat(400),
    ]);
  if (status === 302) headers.location = 'http://127.0.0.1:1/elsewhere';
  // An upstream that repeats the caller's key in its error message (some do, for a malformed one).
  return { raw: random() < 0.15 ? echoingError(provider) : pick(REFUSALS), status, headers };
}

const PROVIDER_CODES = new Set<ErrorCode>([
  'provider_key_rejected',
  'provider_rate_limited',
  'provider_error',
  'provider_unavailable',
  'provider_timeout',
]);

let upstream: ReplayServer;
let answer: ReplayAnswer = { json: {} };
beforeAll(async () => {
  upstream = await startReplayServer(() => answer);
});
afterAll(() => upstream.close());

async function everyRecord(storage: Storage): Promise<UsageRecord[]> {
  const records: UsageRecord[] = [];
  let page = await storage.listUsage({ limit: 1000 });
  records.push(...page.records);
  while (page.next) {
    page = await storage.listUsage({ limit: 1000, cursor: page.next });
    records.push(...page.records);
  }
  return records;
}

/** byokit with a system key for each provider, all pointed at the fake upstream; what it logs is kept. */
async function setUp() {
  const logged: string[] = [];
  const log = (level: string) => (context: Record<string, unknown>, message: string) =>
    void logged.push(`${level} ${message} ${JSON.stringify(context)}`);
  const logger: Logger = { debug: () => {}, info: log('info'), warn: log('warn'), error: log('error') };
  const providers = {
    anthropic: { baseUrl: upstream.origin, retries: 0 },
    openai: { baseUrl: `${upstream.origin}/v1`, retries: 0 },
    google: { baseUrl: upstream.origin, retries: 0 },
  };
  const environment = { ANTHROPIC_API_KEY: keys.anthropic, OPENAI_API_KEY: keys.openai, GOOGLE_API_KEY: keys.google };
  const { byokit, storage } = await testByokit({ providers, environment, logger });
  const catalog = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Array<{
    id: string;
    provider: Provider;
    is_active: boolean;
  }>;
  const modelOf = (provider: Provider) => catalog.find((model) => model.provider === provider && model.is_active)!.id;
  return { byokit, storage, logged, modelOf };
}

describe('hostile provider answers', () => {
  it(`${CASES} mutated answers: a completion or a provider error each, no internal error, no key, one billable record per call`, async () => {
    const { byokit, storage, logged, modelOf } = await setUp();

    const faults: string[] = [];
    const texts: Array<[string, string]> = [];
    const outcomes = new Set<string>();
    for (let index = 0; index < CASES; index++) {
      const provider = pick(PROVIDERS);
      const stream = random() < 0.5;
      const openAISurface = random() < 0.3;
      answer = hostileAnswer(provider, stream);
      const request = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 100, stream };
      const response = openAISurface
        ? await call(byokit, 'POST', '/openai/v1/chat/completions', { principal: alice, body: { model: modelOf(provider), ...request } })
        : await call(byokit, 'POST', '/llm/chat/completions', { principal: alice, body: { model_id: modelOf(provider), ...request } });
      const what = `#${index} ${provider} ${stream ? 'stream' : 'plain'}${openAISurface ? ' (OpenAI surface)' : ''}: ${JSON.stringify(answer).slice(0, 160)}`;
      texts.push([what, response!.text + JSON.stringify(response!.headers)]);

      const streamedError = response!.events.find(
        (event): event is { error: { code: ErrorCode } } => typeof event === 'object' && event !== null && 'error' in event,
      );
      const code: ErrorCode | undefined = response!.json?.error?.code ?? streamedError?.error.code;
      outcomes.add(`${response!.status} ${code ?? 'ok'}`);
      if (code !== undefined && !PROVIDER_CODES.has(code)) faults.push(`${what} → ${response!.status} ${code}`);
      const retryAfter = response!.headers['retry-after'];
      if (retryAfter !== undefined && !/^[1-9]\d{0,12}$/.test(retryAfter)) faults.push(`${what} → Retry-After: ${retryAfter}`);
      if (response!.status === 200 && stream && code === undefined) {
        const events = response!.events;
        if (events.at(-1) !== '[DONE]') faults.push(`${what} → a stream without [DONE]`);
        if (!openAISurface && (events.at(-2) as { usage?: unknown } | undefined)?.usage === undefined)
          faults.push(`${what} → no usage chunk before [DONE]`);
      }
      if (response!.status === 200 && !stream && response!.json?.usage === undefined) faults.push(`${what} → a completion without usage`);
    }

    expect(faults).toEqual([]);
    // Records are written after the answer: the last ones may still be on their way.
    await expect.poll(async () => (await everyRecord(storage)).length).toBe(CASES);
    const records = await everyRecord(storage);
    expect(logged.filter((line) => line.includes('request failed') || line.includes('usage record'))).toEqual([]);
    expect(findKeyLeaks(Object.values(keys), [...texts, ['log', logged.join('\n')]])).toEqual([]);
    for (const record of records) {
      for (const count of [record.inputTokens, record.outputTokens, record.cachedInputTokens, record.reasoningTokens])
        if (count !== null) expect(Number.isSafeInteger(count) && count >= 0, `${record.requestId}: ${count}`).toBe(true);
      expect(record.costUsd).toMatch(/^\d+(\.\d+)?$/);
    }
    // The run reached what it is for: completions, each kind of provider error, and streams broken mid-way.
    for (const outcome of [
      '200 ok',
      '200 provider_error',
      '502 provider_error',
      '429 provider_rate_limited',
      '400 provider_key_rejected',
      '502 provider_unavailable',
    ])
      expect([...outcomes]).toContain(outcome);
  }, 120_000);

  it('the same through byokit.chat and chatStream in code: a completion, or a ByokitError with a provider code', async () => {
    const { byokit, logged, modelOf } = await setUp();
    const faults: string[] = [];
    for (let index = 0; index < CASES; index++) {
      const provider = pick(PROVIDERS);
      const stream = random() < 0.5;
      answer = hostileAnswer(provider, stream);
      const request = { model_id: modelOf(provider), messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 100 };
      const outcome = stream
        ? (async () => {
            for await (const chunk of byokit.chatStream(alice, request)) void chunk;
          })()
        : byokit.chat(alice, request);
      const error: unknown = await outcome.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      if (error !== undefined && !(isByokitError(error) && PROVIDER_CODES.has(error.code)))
        faults.push(`#${index} ${provider} ${stream ? 'stream' : 'plain'}: ${String(error)}`);
    }
    expect(faults).toEqual([]);
    expect(logged.filter((line) => line.includes('usage record'))).toEqual([]);
  }, 120_000);
});
