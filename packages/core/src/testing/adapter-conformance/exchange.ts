// One request, sent two ways: over HTTP to the adapter under test, and straight to `byokit.handle`, whose answer
// is what every adapter must write. Both answers come back in one form, the body as the pieces it arrived in.
import { connect, type Socket } from 'node:net';
import type { Byokit } from '../../byokit.js';
import { belowPrefix } from '../../http/mount-prefix.js';
import type { ByokitRequest } from '../../http/types.js';
import type { Scenario } from './scenarios.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import type { MountAdapter, MountedAdapter } from './types.js';
import { authenticate, authorizationOf, randomKeyring, startSide, type Caller, type Side, type SideOptions } from './world.js';

/** A request as the suite describes it. */
export interface Exchange {
  method: string;
  /** The path and query as the client sends it, the mount prefix included: `/v2/llm-models/?all=true`. */
  url: string;
  as: Caller;
  /** The body's exact bytes, if any. */
  body?: Uint8Array;
  /** The body's Content-Type; none when left out. */
  contentType?: string;
  /** The body's Content-Encoding; none when left out. */
  contentEncoding?: string;
  /** Send the body without Content-Length, in pieces, as a client streaming an upload does. */
  chunked?: boolean;
  /** The `Accept` header; the client's own when left out. */
  accept?: string;
  requestId: string;
}

/** An answer: status, headers (names in lower case), and the body as the pieces it came in. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  /** Each read of the body over HTTP; each chunk byokit produced for the reference. */
  pieces: string[];
}

/** The scenario as a request: its body encoded, its own request id. */
export function exchangeOf(scenario: Scenario, index: number, prefix: string): Exchange {
  const text = scenario.text ?? (scenario.json === undefined ? undefined : JSON.stringify(scenario.json));
  const contentType =
    scenario.contentType === null ? undefined : (scenario.contentType ?? (text === undefined ? undefined : 'application/json'));
  return {
    method: scenario.method,
    url: `${prefix}${scenario.path}`,
    as: scenario.as,
    ...(text !== undefined && { body: new TextEncoder().encode(text) }),
    ...(contentType !== undefined && { contentType }),
    ...(scenario.chunked && { chunked: true }),
    ...(scenario.accept !== undefined && { accept: scenario.accept }),
    requestId: scenario.requestId ?? `conformance-${index}`,
  };
}

/** The headers the client sends (fetch adds its own: host, accept, user-agent…, which byokit does not read). */
export function requestHeaders(exchange: Exchange): Record<string, string> {
  return {
    ...authorizationOf(exchange.as),
    'x-request-id': exchange.requestId,
    ...(exchange.contentType !== undefined && { 'content-type': exchange.contentType }),
    ...(exchange.contentEncoding !== undefined && { 'content-encoding': exchange.contentEncoding }),
    ...(exchange.accept !== undefined && { accept: exchange.accept }),
  };
}

const PIECE_BYTES = 64 * 1024;

/** The body in 64 KiB pieces, as a stream: fetch then sends it chunked, with no Content-Length. */
function streamed(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + PIECE_BYTES));
      offset += PIECE_BYTES;
    },
  });
}

/** Sends the request over real HTTP and reads the body read by read, calling `onRead` after each. */
export async function sendOverHttp(baseUrl: string, exchange: Exchange, onRead?: () => void): Promise<Answer> {
  const body = exchange.body === undefined ? undefined : exchange.chunked ? streamed(exchange.body) : exchange.body;
  const response = await fetch(`${baseUrl}${exchange.url}`, {
    method: exchange.method,
    headers: requestHeaders(exchange),
    ...(body !== undefined && { body, duplex: 'half' }),
  } as RequestInit);
  const pieces: string[] = [];
  if (response.body !== null) {
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      pieces.push(decoder.decode(read.value, { stream: true }));
      onRead?.();
    }
    const rest = decoder.decode();
    if (rest !== '') pieces.push(rest);
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), pieces };
}

/**
 * What core answers the same request with, below `prefix`: the reference every adapter must match. `undefined`
 * when the path is none of byokit's (the adapter then leaves it to the host, or answers 404 itself).
 */
export async function sendToCore(byokit: Pick<Byokit, 'handle'>, prefix: string, exchange: Exchange): Promise<Answer | undefined> {
  const url = belowPrefix(exchange.url, prefix);
  if (url === undefined) return undefined;
  const headers: Record<string, string> = requestHeaders(exchange);
  if (exchange.body !== undefined && !exchange.chunked) headers['content-length'] = String(exchange.body.byteLength);
  const request: ByokitRequest = {
    method: exchange.method,
    url,
    headers,
    body: exchange.body === undefined ? { kind: 'none' } : { kind: 'stream', stream: [exchange.body] },
    authenticate: () => authenticate(headers),
  };
  const answer = await byokit.handle(request);
  if (answer === undefined) return undefined;
  const pieces: string[] = [];
  if (typeof answer.body === 'string') pieces.push(answer.body);
  else for await (const chunk of answer.body) pieces.push(chunk);
  const lowerCase = Object.fromEntries(Object.entries(answer.headers).map(([name, value]) => [name.toLowerCase(), value]));
  return { status: answer.status, headers: lowerCase, pieces };
}

/**
 * A suite's set-up: `keys` (`{ anthropic_api_key: … }`) saved straight through core by `as`, at `path` (the user's
 * `/users/me/api-key` or the admin's `/admin/api-key`), not through the adapter under test. Its status, 200 when saved.
 */
export async function setKeysThroughCore(
  byokit: Pick<Byokit, 'handle'>,
  prefix: string,
  as: Caller,
  path: string,
  keys: Record<string, string>,
): Promise<number | undefined> {
  const answer = await sendToCore(byokit, prefix, {
    method: 'PATCH',
    url: `${prefix}${path}`,
    as,
    body: new TextEncoder().encode(JSON.stringify(keys)),
    contentType: 'application/json',
    requestId: 'conformance-set-up',
  });
  return answer?.status;
}

/**
 * A side with no system keys, mounted by `mount`, the user's Anthropic and OpenAI keys saved through core
 * ({@link setKeysThroughCore}): the set-up of suites that stream as that user. Close the adapter, then the side.
 */
export async function mountWithUserKeys<Mounted extends MountedAdapter>(
  mount: (options: Parameters<MountAdapter>[0]) => Promise<Mounted>,
  prefix: string,
  options: Pick<SideOptions, 'streamKeepAliveMs' | 'baseUrls' | 'providerTimeoutMs'> = {},
): Promise<{ side: Side; adapter: Mounted }> {
  const side = await startSide({ keyring: randomKeyring(), environment: {}, prefix, ...options });
  const adapter = await mount({ byokit: side.byokit, authenticate, prefix });
  const keys = { anthropic_api_key: fakeProviderKey('anthropic'), openai_api_key: fakeProviderKey('openai') };
  if ((await setKeysThroughCore(side.byokit, prefix, 'user', '/users/me/api-key', keys)) !== 200) {
    throw new Error("the conformance set-up could not save the user's keys");
  }
  return { side, adapter };
}

/**
 * The user's chat POST written as is over node:net, its head declaring the whole `body` but only `sentBody` (none, part
 * or all of it) written after the head: a client that will leave mid-body or before it is answered (`socket.destroy()`).
 */
export function sendChatHead(baseUrl: string, prefix: string, requestId: string, body: string, sentBody: string): Socket {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.write(
    `POST ${prefix}/llm/chat/completions HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: ${authorizationOf('user').authorization}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nX-Request-Id: ${requestId}\r\n\r\n${sentBody}`,
  );
  return socket;
}
