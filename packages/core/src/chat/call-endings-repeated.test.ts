import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createByokit, type Byokit } from '../byokit.js';
import { ByokitError } from '../errors.js';
import { RequestAbort } from '../http/request-abort.js';
import { alice, processTroubleForEachTest, testKeyring } from '../http/test-helpers.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { Logger } from '../logging/logger.js';
import type { Storage } from '../storage/storage.js';
import { memoryStorage } from '../storage/memory-storage.js';

// Every way a chat call ends, each repeated many times, plain and streamed, in code and through the route: what it
// leaves behind must be nothing. The provider is a raw node:http server, so that each ending is exactly what it
// says (a reset, a silence, an error event after 200), and its connections can be counted.

// Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
const MODEL_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const REQUEST = { model_id: MODEL_ID, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 20 };
const ROUNDS = 100;

const HEAD = { 'content-type': 'text/event-stream' };
const START =
  'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5-5","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}\n\n';
const TEXT = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\n\n';
const END =
  'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n';
/** Anthropic's keep-alive: an event that carries nothing for the caller. */
const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const ERROR_EVENT = 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
const MESSAGE = JSON.stringify({
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-5-5',
  content: [{ type: 'text', text: 'Hi' }],
  stop_reason: 'end_turn',
  usage: { input_tokens: 5, output_tokens: 3 },
});
const refusal = (type: string) => JSON.stringify({ type: 'error', error: { type, message: 'no' } });

/** How the provider answers one request: `streamed` when the call asked for a stream. */
type Ending = (response: ServerResponse, streamed: boolean) => void;

const answered: Ending = (response, streamed) => {
  if (!streamed) return void response.writeHead(200, { 'content-type': 'application/json' }).end(MESSAGE);
  response.writeHead(200, HEAD).end(START + TEXT + TEXT + END);
};
/** The head and part of the body, then nothing more. */
const partly: Ending = (response, streamed) => {
  response.writeHead(200, streamed ? HEAD : { 'content-type': 'application/json' });
  response.write(streamed ? START + TEXT : MESSAGE.slice(0, 20));
};

let ending: Ending = answered;
let received = 0;
const connections = new Set<Socket>();
const provider = createServer(async (request: IncomingMessage, response: ServerResponse) => {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  received++;
  response.on('error', () => {});
  ending(response, (JSON.parse(body) as { stream?: boolean }).stream === true);
});
provider.on('connection', (socket) => {
  connections.add(socket);
  socket.on('close', () => connections.delete(socket));
});
let baseUrl = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
});
afterAll(async () => {
  provider.closeAllConnections();
  await new Promise((resolve) => provider.close(resolve));
});

const { warnings, rejections } = processTroubleForEachTest();
beforeEach(() => {
  ending = answered;
});

/** A request's abort as an adapter makes it, counting the listeners on it. */
class CountedAbort extends RequestAbort {
  static listening = 0;
  override onAbort(listener: () => void): () => void {
    if (this.aborted) return super.onAbort(listener);
    let pending = true;
    const done = () => {
      if (pending) CountedAbort.listening--;
      pending = false;
    };
    CountedAbort.listening++;
    const stop = super.onAbort(() => {
      done();
      listener();
    });
    return () => {
      done();
      stop();
    };
  }
}

async function openByokit(options: { timeoutMs?: number; storage?: Storage; logger?: Logger } = {}) {
  const storage = options.storage ?? memoryStorage();
  const byokit = await createByokit({
    storage,
    keyring: testKeyring(),
    environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
    providers: { anthropic: { baseUrl, ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) } },
    // Some endings run all their calls at once, more than one user may have running by default.
    concurrentCallsPerUser: 0,
    ...(options.logger && { logger: options.logger }),
  });
  return { byokit, storage };
}

type Way = 'byokit.chat' | 'byokit.chatStream' | 'the route' | 'the route, streamed';
const WAYS: Way[] = ['byokit.chat', 'byokit.chatStream', 'the route', 'the route, streamed'];

/** One call one way, to its end: what the caller saw (the error's code or name, the status, the stream's last event). */
async function callOnce(byokit: Byokit, way: Way, signal: AbortSignal, request: RequestAbort): Promise<string> {
  // A ByokitError's code; the caller's own abort by its name (a DOMException's code is a number).
  const failed = (error: unknown) => {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : (error as Error).name;
  };
  if (way === 'byokit.chat') return byokit.chat(alice, REQUEST, { signal }).then(() => 'answered', failed);
  if (way === 'byokit.chatStream') {
    try {
      for await (const _chunk of byokit.chatStream(alice, REQUEST, { signal }));
      return 'answered';
    } catch (error) {
      return failed(error);
    }
  }
  const body = way === 'the route' ? REQUEST : { ...REQUEST, stream: true };
  const response = await byokit.handle({
    method: 'POST',
    url: '/llm/chat/completions',
    headers: { 'content-type': 'application/json' },
    body: { kind: 'stream', stream: [new TextEncoder().encode(JSON.stringify(body))] },
    authenticate: () => alice,
    signal: request,
  });
  if (typeof response!.body === 'string') return String(response!.status);
  let last = '';
  for await (const chunk of response!.body) last = chunk;
  if (last === 'data: [DONE]\n\n') return 'answered';
  return (JSON.parse(last.slice('data: '.length)) as { error: { code: string } }).error.code;
}

const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;

/**
 * Runs `rounds` calls each way with `ending`, then checks what they left: no listener on the host's signal nor on
 * the request's, no warning, no unhandled rejection, no timer, no connection to the provider left open but the
 * one kept alive, and one usage record per call that reached the provider.
 */
async function repeat(
  byokit: Byokit,
  storage: Storage,
  rounds: number,
  { abortWhen, atOnce = false, recorded = true }: { abortWhen?: () => Promise<void>; atOnce?: boolean; recorded?: boolean } = {},
): Promise<Record<Way, string[]>> {
  const seen = {} as Record<Way, string[]>;
  const timersBefore = timers();
  const recordsBefore = (await storage.listUsage({ userId: alice.userId, limit: 1000 })).records.length;
  const receivedBefore = received;
  const host = new AbortController();
  for (const way of WAYS) {
    const outcomes = new Set<string>();
    if (atOnce) {
      const calls = Array.from({ length: rounds }, () => callOnce(byokit, way, host.signal, new CountedAbort()));
      for (const outcome of await Promise.all(calls)) outcomes.add(outcome);
    }
    for (let round = 0; !atOnce && round < rounds; round++) {
      // The host's signal lives on across calls unless this ending aborts it; the request's is one per request.
      const signal = abortWhen ? new AbortController() : host;
      const request = new CountedAbort();
      const call = callOnce(byokit, way, signal.signal, request);
      if (abortWhen) {
        await abortWhen();
        signal.abort();
        request.abort();
      }
      outcomes.add(await call);
    }
    seen[way] = [...outcomes];
  }
  // The records are written after the answers, off their path; the sockets a call destroyed close on their own turn.
  await byokit.close();
  await expect.poll(() => connections.size).toBeLessThanOrEqual(1);
  expect(getEventListeners(host.signal, 'abort')).toHaveLength(0);
  expect(CountedAbort.listening).toBe(0);
  expect(warnings).toEqual([]);
  expect(rejections).toEqual([]);
  expect(timers()).toBeLessThanOrEqual(timersBefore);
  const records = (await storage.listUsage({ userId: alice.userId, limit: 1000 })).records.length - recordsBefore;
  expect(records).toBe(recorded ? WAYS.length * rounds : 0);
  expect(received - receivedBefore).toBeGreaterThanOrEqual(records);
  return seen;
}

const everyWay = (outcome: string, streamedRoute = outcome) => ({
  'byokit.chat': [outcome],
  'byokit.chatStream': [outcome],
  'the route': [outcome],
  'the route, streamed': [streamedRoute],
});

describe('a chat call, however it ends, repeated, leaves nothing behind', () => {
  it.each<[string, Ending, Record<Way, string[]>, { atOnce?: boolean }?]>([
    ['answered in full', answered, { ...everyWay('answered'), 'the route': ['200'] }],
    [
      'refused by the provider (400)',
      (response) => response.writeHead(400, { 'content-type': 'application/json' }).end(refusal('invalid_request_error')),
      { ...everyWay('provider_error'), 'the route': ['502'], 'the route, streamed': ['502'] },
    ],
    [
      'failing at the provider (500, retried once after a pause)',
      (response) => response.writeHead(500, { 'content-type': 'application/json' }).end(refusal('api_error')),
      { ...everyWay('provider_unavailable'), 'the route': ['502'], 'the route, streamed': ['502'] },
      // Each call pauses 250 ms before its retry: these run all at once.
      { atOnce: true },
    ],
    [
      // More than the stream queues before it pauses the body (64), all decoded to nothing.
      'answered in full, with a hundred pings in one piece of the stream',
      (response, streamed) => {
        if (!streamed) return answered(response, streamed);
        response.writeHead(200, HEAD).write(START + TEXT + PING.repeat(100));
        setImmediate(() => response.end(TEXT + END));
      },
      { ...everyWay('answered'), 'the route': ['200'] },
    ],
    [
      'an error event after 200, mid-stream',
      (response, streamed) => (streamed ? response.writeHead(200, HEAD).end(START + TEXT + ERROR_EVENT) : answered(response, streamed)),
      {
        ...everyWay('answered'),
        'the route': ['200'],
        'byokit.chatStream': ['provider_unavailable'],
        'the route, streamed': ['provider_unavailable'],
      },
    ],
    [
      'an error event after 200, before any text',
      (response, streamed) => (streamed ? response.writeHead(200, HEAD).end(ERROR_EVENT) : answered(response, streamed)),
      { ...everyWay('answered'), 'the route': ['200'], 'byokit.chatStream': ['provider_unavailable'], 'the route, streamed': ['502'] },
      // A first event that is the provider failing is tried again after 250 ms, as a 500 is: one after another,
      // the 200 streamed calls waited 50 s in all.
      { atOnce: true },
    ],
    [
      'the connection reset before the head',
      (response) => response.socket!.destroy(),
      { ...everyWay('provider_unavailable'), 'the route': ['502'], 'the route, streamed': ['502'] },
      { atOnce: true },
    ],
    [
      'the connection reset mid-answer',
      (response, streamed) => {
        partly(response, streamed);
        setImmediate(() => response.socket!.destroy());
      },
      { ...everyWay('provider_unavailable'), 'the route': ['502'] },
    ],
  ])(
    '%s',
    async (_name, answer, expected, options) => {
      ending = answer;
      const { byokit, storage } = await openByokit();
      expect(await repeat(byokit, storage, ROUNDS, options)).toEqual(expected);
    },
    60_000,
  );

  it.each<[string, Ending, Record<Way, string[]>, number]>([
    [
      'the provider silent before the head',
      () => {},
      { ...everyWay('provider_timeout'), 'the route': ['504'], 'the route, streamed': ['504'] },
      20,
    ],
    // The timeout also bounds the wait for the head and the first event (read before the route answers), which must
    // come first here: for 100 calls at once they took longer than 20 ms (a second, at undici's tick) on a loaded
    // machine, and the streamed route answered 504.
    ['the provider silent mid-answer', partly, { ...everyWay('provider_timeout'), 'the route': ['504'] }, 5_000],
  ])(
    '%s (its timeout)',
    async (_name, answer, expected, timeoutMs) => {
      ending = answer;
      // undici's timers tick about once a second, whatever the timeout: these calls run all at once.
      const { byokit, storage } = await openByokit({ timeoutMs });
      expect(await repeat(byokit, storage, ROUNDS, { atOnce: true })).toEqual(expected);
    },
    60_000,
  );

  it.each<[string, Ending]>([
    ['before the head', () => {}],
    ['mid-answer', partly],
  ])(
    'the caller gone %s',
    async (_name, answer) => {
      ending = answer;
      const { byokit, storage } = await openByokit();
      let before = received;
      // Once the provider has the request (and, mid-answer, has sent part of its answer).
      const abortWhen = async () => {
        while (received === before) await new Promise((resolve) => setImmediate(resolve));
        before = received;
        await new Promise((resolve) => setImmediate(resolve));
      };
      const seen = await repeat(byokit, storage, ROUNDS, { abortWhen });
      expect(seen['byokit.chat']).toEqual(['AbortError']);
      expect(seen['byokit.chatStream']).toEqual(['AbortError']);
    },
    60_000,
  );

  it('the storage failing as the budget is held: refused before the provider, nothing held open', async () => {
    const failing = {
      ...memoryStorage(),
      holdBudget: async () => {
        throw new ByokitError('storage_unavailable', 'The database is unavailable.');
      },
    };
    const { byokit, storage } = await openByokit({ storage: failing });
    const before = received;
    const seen = await repeat(byokit, storage, ROUNDS, { recorded: false });
    expect(seen).toEqual({ ...everyWay('storage_unavailable'), 'the route': ['503'], 'the route, streamed': ['503'] });
    expect(received).toBe(before);
  }, 60_000);

  it('the storage failing as the usage is recorded: answered, the failure logged, nothing held open', async () => {
    const failing = {
      ...memoryStorage(),
      recordUsage: async () => {
        throw new ByokitError('storage_unavailable', 'The database is unavailable.');
      },
    };
    const notSaved: string[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (_context: unknown, message?: string) => void notSaved.push(String(message)),
    };
    const { byokit, storage } = await openByokit({ storage: failing, logger });
    const seen = await repeat(byokit, storage, ROUNDS, { recorded: false });
    expect(seen).toEqual({ ...everyWay('answered'), 'the route': ['200'] });
    expect(notSaved).toEqual(Array(WAYS.length * ROUNDS).fill('usage record not saved'));
  }, 60_000);
});
