import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent as Undici6Agent } from 'undici6';
import { isByokitError } from '../errors.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { SecretKey } from '../keys/secret-key.js';
import { anthropicClient } from './anthropic/anthropic-client.js';
import { fixtureChunks, fixtureJson } from './fixtures.js';
import type { ProviderChatRequest } from './provider-types.js';
import { collect, eventNameFromType, replayServersClosedAfterEachTest, startFloodingProvider, untilStill } from './replay-server.js';

// A host's `dispatcher` need not come from byokit's own undici 7: a host's lockfile may hold undici 6 (the family
// Node 20's and 22's fetch are built on), whose `Agent` or `ProxyAgent` it passes. undici 6 knows only the older
// handler API (onConnect, onHeaders, …) and refused byokit's handler (undici 7's onRequestStart, …) as "invalid
// onError method", so every call through such a dispatcher failed as provider_unavailable. The devDependency
// `undici6` is the real undici 6 from the registry.
const UNDICI_6 = (createRequire(import.meta.url)('undici6/package.json') as { version: string }).version;
const key = fakeProviderKey('anthropic');
const request: ProviderChatRequest = { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }], maxTokens: 64 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

const replay = replayServersClosedAfterEachTest();

/** A host's undici 6 Agent, closed after the test. */
function undici6Dispatcher(): Undici6Agent {
  const agent = new Undici6Agent();
  closers.push(() => agent.close());
  return agent;
}

describe(`a host's dispatcher from undici ${UNDICI_6}`, () => {
  it('is undici 6 indeed', () => expect(UNDICI_6).toMatch(/^6\./));

  it('answers a call, the key in its header', async () => {
    const server = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const client = anthropicClient({ baseUrl: server.origin, retries: 0, dispatcher: undici6Dispatcher() });
    const answer = await client.complete(request, { key: new SecretKey('anthropic', key) });
    expect(answer.content.length).toBeGreaterThan(0);
    expect(server.requests.map((received) => received.headers['x-api-key'])).toEqual([key]);
  });

  it("streams an answer to its end, as byokit's own connections do", async () => {
    const events = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const own = await replay({ events, eventName: eventNameFromType });
    const expected = await collect(
      await anthropicClient({ baseUrl: own.origin, retries: 0 }).stream(request, { key: new SecretKey('anthropic', key) }),
    );

    const server = await replay({ events, eventName: eventNameFromType });
    const client = anthropicClient({ baseUrl: server.origin, retries: 0, dispatcher: undici6Dispatcher() });
    expect(await collect(await client.stream(request, { key: new SecretKey('anthropic', key) }))).toEqual(expected);
  });

  it('streams a long answer read slowly (its body paused and resumed) without losing an event', async () => {
    const text = (index: number) =>
      JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: `${index} ` } });
    const [start, ...rest] = fixtureChunks('anthropic/anthropic-text.chunks.txt');
    const end = rest.filter((line) => /message_delta|message_stop/.test(line));
    const events = [start!, ...Array.from({ length: 300 }, (_, index) => text(index)), ...end];
    const server = await replay({ events, eventName: eventNameFromType });
    const client = anthropicClient({ baseUrl: server.origin, retries: 0, dispatcher: undici6Dispatcher() });
    let said = '';
    for await (const event of await client.stream(request, { key: new SecretKey('anthropic', key) })) {
      if (event.type === 'text') said += event.text;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(said).toBe(Array.from({ length: 300 }, (_, index) => `${index} `).join(''));
  });

  it('makes a provider wait while nobody reads its stream, rather than buffer it without bound', async () => {
    // 64 MB of text deltas, as fast as the connection takes them.
    const flood = await startFloodingProvider(1000, 64 * 1024 * 1024);
    closers.push(() => flood.close());
    const client = anthropicClient({ baseUrl: flood.origin, retries: 0, dispatcher: undici6Dispatcher() });
    const events = (await client.stream(request, { key: new SecretKey('anthropic', key) }))[Symbol.asyncIterator]();
    closers.unshift(async () => void (await events.return!()));
    expect((await events.next()).done).toBe(false);
    await untilStill(flood);
    // Held back by what the kernel's buffers take and about a megabyte in byokit, not read into its memory.
    expect(flood.finished()).toBe(false);
    expect(flood.written()).toBeLessThan(16 * 1024 * 1024);
  });

  it("ends a call with its caller's abort", async () => {
    const server = await replay({
      events: fixtureChunks('anthropic/anthropic-text.chunks.txt'),
      eventName: eventNameFromType,
      gapMs: 5_000,
    });
    const client = anthropicClient({ baseUrl: server.origin, retries: 0, dispatcher: undici6Dispatcher() });
    const controller = new AbortController();
    const events = await client.stream(request, { key: new SecretKey('anthropic', key), signal: controller.signal });
    const reading = collect(events).catch((error: unknown) => error);
    controller.abort();
    const error = await reading;
    expect(isByokitError(error) ? error.code : (error as Error).name).toBe('AbortError');
    expect(await server.ended).toBe('aborted');
  });

  // undici 6's Agent follows redirects when made with maxRedirections, keeping x-api-key on a cross-origin one.
  it('refuses a redirect through an Agent made to follow them, never sending the key to the host it names', async () => {
    const elsewhere = await replay({ json: fixtureJson('anthropic/anthropic-text.json') });
    const server = await replay({ raw: '', status: 307, headers: { location: `${elsewhere.origin}/steal` } });
    const agent = new Undici6Agent({ maxRedirections: 3 });
    closers.push(() => agent.close());
    const client = anthropicClient({ baseUrl: server.origin, retries: 0, dispatcher: agent });
    const error = await client.complete(request, { key: new SecretKey('anthropic', key) }).catch((caught: unknown) => caught);
    expect(elsewhere.requests).toHaveLength(0);
    expect(server.requests).toHaveLength(1);
    expect(isByokitError(error) && error.code).toBe('provider_error');
  });
});

describe("a host's dispatcher that is none", () => {
  it.each([
    ['an object without dispatch', {}, 'an object'],
    ['the class rather than an instance', Undici6Agent, 'a function'],
    ['a URL string', 'http://proxy:3128', 'a string'],
  ])('is refused where the client is made, naming it: %s', (_what, dispatcher, got) => {
    expect(() => anthropicClient({ baseUrl: 'https://api.anthropic.com', dispatcher: dispatcher as never })).toThrow(
      new TypeError(`anthropic dispatcher must be an undici dispatcher (an object with a dispatch method), got ${got}`),
    );
  });
});
