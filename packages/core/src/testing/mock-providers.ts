/**
 * A mock of the three providers' APIs on one loopback server, answering with real recorded responses
 * (fixtures/README.md) in each provider's own wire format, and recording what it received. For byokit's end-to-end
 * tests, the example server's offline mode and the benchmark. Node only.
 *
 * Routes: Anthropic `POST /v1/messages`; OpenAI `POST /v1/chat/completions`; both `GET /v1/models` (Anthropic's
 * when sent with `x-api-key` or `anthropic-version`, else OpenAI's); Google `POST /v1beta/models/{model}:generateContent`,
 * `POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, `GET /v1beta/models`. Each provider's part lives in
 * `./mock-providers/<provider>.ts`.
 *
 * The request's output token limit and stop sequences end the recorded answer where the real API would: before
 * the first stop sequence written (Anthropic `stop_reason: "stop_sequence"` naming it, OpenAI `finish_reason:
 * "stop"`, Gemini `STOP`), else at the limit (`max_tokens`, `length`, `MAX_TOKENS`, Gemini counting its thinking
 * first), with the usage counting what was written (wire.ts, `endingOf`). A temperature outside what the provider
 * takes (Anthropic 0–1, OpenAI and Gemini 0–2) or a token limit below 1 is refused with the provider's own 400, as
 * are the bodies byokit's clients must never send: Anthropic's temperature with top_p, blank text, a prefill ending
 * in whitespace; Gemini's empty text part.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isProvider, mapProviders, PROVIDERS, type Provider } from '../keys/providers.js';
import { anthropicMock } from './mock-providers/anthropic.js';
import { googleMock } from './mock-providers/google.js';
import { openaiMock } from './mock-providers/openai.js';
import { sendAnswer } from './mock-providers/send.js';
import type {
  AnswerContext,
  EndpointHandler,
  MockAnswer,
  MockFailure,
  MockProviders,
  MockProvidersOptions,
  MockRequest,
  ProviderMock,
  StreamPacer,
} from './mock-providers/types.js';
import { jsonAnswer } from './mock-providers/wire.js';

export type { MockBaseUrls, MockFailure, MockProviders, MockProvidersOptions, MockRequest, StreamPacer } from './mock-providers/types.js';

// One for each provider, so that a provider added to PROVIDERS fails to compile here until the mock serves it (its
// calls were otherwise answered, and recorded, as another provider's). Asked in this order: Anthropic first, as it
// claims `GET /v1/models` only when its own headers are present, and OpenAI takes the rest.
const PROVIDER_MOCKS: readonly ProviderMock[] = Object.values({
  anthropic: anthropicMock,
  openai: openaiMock,
  google: googleMock,
} satisfies Record<Provider, ProviderMock>);

function matchRoute(
  method: string,
  path: string,
  headers: IncomingHttpHeaders,
): { mock: ProviderMock; handler: EndpointHandler } | undefined {
  for (const mock of PROVIDER_MOCKS) {
    const handler = mock.route(method, path, headers);
    if (handler !== undefined) return { mock, handler };
  }
  return undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of request) chunks.push(chunk as Uint8Array);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function notFound(method: string, path: string): MockAnswer {
  const message = `byokit mock providers: no route for ${method} ${path}`;
  return jsonAnswer(404, { error: { type: 'not_found', message } }, { 'content-type': 'application/json' });
}

function checkedPause(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a number of milliseconds ≥ 0, got ${value}`);
  return value;
}

function checkedRepeat(value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`repeatChunks must be an integer ≥ 1, got ${value}`);
  return value;
}

function checkedBound(value: number | undefined): number {
  if (value === undefined) return Infinity;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`maxRequestsKept must be an integer ≥ 1, got ${value}`);
  return value;
}

function checkedProvider(provider: Provider): Provider {
  if (!isProvider(provider)) throw new TypeError(`Unknown provider: ${String(provider)}`);
  return provider;
}

interface Waiter {
  predicate: (request: MockRequest) => boolean;
  resolve: (request: MockRequest) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * Starts the mock on 127.0.0.1. Point byokit at `baseUrls` (each SDK's meaning of `ANTHROPIC_BASE_URL`,
 * `OPENAI_BASE_URL`, `GOOGLE_GEMINI_BASE_URL`); any key is accepted except those in `rejectKeys`.
 *
 * @example
 * ```ts
 * import { startMockProviders } from '@byokit/core/mock-providers';
 * import { expect } from 'vitest';
 *
 * const mock = await startMockProviders();
 * mock.failNext('google', { status: 429 }); // the recorded RESOURCE_EXHAUSTED body
 * // … call byokit, pointed at mock.baseUrls, for a user whose Google key is googleKey …
 * expect(mock.requests[0]?.key).toBe(googleKey);
 * await mock.close();
 * ```
 */
export async function startMockProviders(options: MockProvidersOptions = {}): Promise<MockProviders> {
  const requests: MockRequest[] = [];
  const rejectKeys = new Set(options.rejectKeys ?? []);
  const failures = mapProviders((): MockFailure[] => []);
  const streamErrors = mapProviders(() => 0);
  const waiters = new Set<Waiter>();
  let chunkGapMs = checkedPause('chunkGapMs', options.chunkGapMs ?? 0);
  let answerDelayMs = checkedPause('answerDelayMs', options.answerDelayMs ?? 0);
  let repeatChunks = checkedRepeat(options.repeatChunks ?? 1);
  const maxRequestsKept = checkedBound(options.maxRequestsKept);
  let streamPacer: StreamPacer | undefined;
  let requestCount = 0;
  let closing: Promise<void> | undefined;

  function matches(waiter: Waiter, request: MockRequest): boolean {
    try {
      return waiter.predicate(request);
    } catch {
      return false;
    }
  }

  /** Resolves the waiters a kept request matches now, or `changed` (an abort heard after maxRequestsKept let it go). */
  function notify(changed?: MockRequest): void {
    for (const waiter of waiters) {
      const found = requests.find((request) => matches(waiter, request)) ?? (changed && matches(waiter, changed) ? changed : undefined);
      if (found === undefined) continue;
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(found);
    }
  }

  function answerFor(mock: ProviderMock, handler: EndpointHandler, request: MockRequest): MockAnswer {
    const provider = mock.provider;
    const context: AnswerContext = {
      requestId: `req_mock${String(++requestCount).padStart(8, '0')}`,
      repeatChunks,
      isRejected: (key) => rejectKeys.has(key),
      takeStreamError() {
        if (streamErrors[provider] === 0) return false;
        streamErrors[provider] -= 1;
        return true;
      },
    };
    const failure = failures[provider].shift();
    if (failure !== undefined) return mock.failure(failure, request, context);
    return mock.guard(request, context) ?? handler(request, context);
  }

  async function handle(incoming: IncomingMessage, response: ServerResponse): Promise<void> {
    let record: MockRequest | undefined;
    let cut = false;
    response.on('close', () => {
      if (record === undefined || response.writableFinished || cut || closing !== undefined) return;
      record.aborted = true;
      notify(record);
    });
    const text = await readBody(incoming);
    const method = incoming.method ?? 'GET';
    const url = new URL(incoming.url ?? '/', 'http://mock.invalid');
    const match = matchRoute(method, url.pathname, incoming.headers);
    record = {
      provider: match?.mock.provider ?? 'unknown',
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: incoming.headers,
      body: parseJson(text),
      key: match?.mock.readKey(incoming.headers),
      aborted: response.destroyed,
    };
    requests.push(record);
    if (requests.length > maxRequestsKept) requests.splice(0, requests.length - maxRequestsKept);
    notify();
    const answer = match === undefined ? notFound(method, url.pathname) : answerFor(match.mock, match.handler, record);
    await sendAnswer(response, answer, {
      delayMs: answerDelayMs,
      gapMs: () => chunkGapMs,
      pacer: () => streamPacer,
      onCut: () => {
        cut = true;
      },
    });
  }

  const server = createServer((incoming, response) => {
    // A client that goes away mid-answer is expected here, not an error of the mock.
    incoming.on('error', () => {});
    response.on('error', () => {});
    handle(incoming, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { type: 'mock_error', message: `byokit mock providers: ${String(error)}` } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    baseUrls: { anthropic: origin, openai: `${origin}/v1`, google: origin },
    requests,
    rejectKeys,
    setChunkGapMs(milliseconds) {
      chunkGapMs = checkedPause('chunkGapMs', milliseconds);
    },
    setStreamPacer(pacer) {
      streamPacer = pacer;
    },
    setAnswerDelayMs(milliseconds) {
      answerDelayMs = checkedPause('answerDelayMs', milliseconds);
    },
    setRepeatChunks(times) {
      repeatChunks = checkedRepeat(times);
    },
    failNext(provider, failure) {
      if (!Number.isInteger(failure.status) || failure.status < 100 || failure.status > 599) {
        throw new RangeError(`failNext: status must be an HTTP status, got ${failure.status}`);
      }
      failures[checkedProvider(provider)].push(failure);
    },
    streamErrorNext(provider) {
      streamErrors[checkedProvider(provider)] += 1;
    },
    waitForRequest(predicate, { timeoutMs = 4000 } = {}) {
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            const seen = requests.map((request) => `${request.method} ${request.path}${request.aborted ? ' (aborted)' : ''}`);
            reject(new Error(`waitForRequest: no matching request within ${timeoutMs} ms; received: ${seen.join(', ') || 'none'}`));
          }, timeoutMs),
        };
        waiters.add(waiter);
        notify();
      });
    },
    reset() {
      requests.length = 0;
      for (const provider of PROVIDERS) {
        failures[provider].length = 0;
        streamErrors[provider] = 0;
      }
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        for (const waiter of waiters) {
          clearTimeout(waiter.timer);
          waiter.reject(new Error('waitForRequest: the mock providers were closed'));
        }
        waiters.clear();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
