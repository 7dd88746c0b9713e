import type { ChatService, ChatStream } from '../../chat/chat-service.js';
import {
  chatCompletion,
  chatCompletionBody,
  chatCompletionChunk,
  type ChatCompletionChunk,
  type ChatCompletionRequest,
} from '../../chat/chat-schemas.js';
import { firstOf, keptAlive, type KeepAlive, type StreamHead } from '../../chat/keep-alive.js';
import { errorEvent, serverSentChunks } from '../../chat/server-sent-chunks.js';
import type { Logger } from '../../logging/logger.js';
import { defineRoute, type Route, type RouteError, type RouteHeader, type RouteResult } from '../route.js';

/** Whose key paid (spec/http-api.md, key resolution), and what the model refused and byokit left out. */
export function callHeaders(keySource: string, ignored: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = { 'x-byok-key-source': keySource };
  if (ignored.length > 0) headers['x-byok-ignored-parameters'] = ignored.join(', ');
  return headers;
}

/**
 * What a streamed answer (server-sent events) says to whatever stands between byokit and the client, so that
 * each chunk reaches the client as it is made: not to be cached (`no-cache`), nor transformed (`no-transform`:
 * Express's `compression` would otherwise gzip it and hold each chunk until it had enough to compress, the first
 * with the last; `@fastify/compress` does not read `no-transform`, so the Fastify adapter opts the stream out with
 * its `x-no-compression`), nor buffered by a proxy (nginx's `x-accel-buffering`).
 */
const STREAM_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/** A streamed answer (server-sent events) of either chat route: {@link callHeaders}, and {@link STREAM_HEADERS}. */
export function streamedAnswer(keySource: string, ignored: readonly string[], stream: AsyncIterable<string>): RouteResult {
  return {
    contentType: 'text/event-stream; charset=utf-8',
    headers: Object.assign(callHeaders(keySource, ignored), STREAM_HEADERS),
    stream,
  };
}

/**
 * A streamed chat answer of either route, kept alive through long silences (keep-alive.ts): `open` starts the call
 * and tells `calling` once it is with the provider; `events` writes its chunks as the route's events, `failure` an
 * error as the route's last event. The head is written once the provider's first event is in, so that a refusal is
 * a clean HTTP error; or, when that first event takes a whole keep-alive tick, at that tick with a comment, and a
 * failure after that is the stream's last event.
 */
export async function streamedChat(
  keepAlive: KeepAlive,
  open: (calling: (head: StreamHead) => void) => Promise<ChatStream>,
  events: (chunks: AsyncIterable<ChatCompletionChunk>) => AsyncIterable<string>,
  failure: (error: unknown) => string,
): Promise<RouteResult> {
  let head: StreamHead | undefined;
  const opening = open((calling) => (head = calling));
  if ((await firstOf(opening, keepAlive, () => head)) === 'opened') {
    const { keySource, ignoredParameters, chunks } = await opening;
    return streamedAnswer(keySource, ignoredParameters, keptAlive(events(chunks), keepAlive));
  }
  const { keySource, ignoredParameters } = head as StreamHead;
  return streamedAnswer(keySource, ignoredParameters, keptAlive(lateEvents(opening, events, failure), keepAlive, true));
}

/** A stream whose head went before the provider's first event: its events, or its failure as its last event. */
async function* lateEvents(
  opening: Promise<ChatStream>,
  events: (chunks: AsyncIterable<ChatCompletionChunk>) => AsyncIterable<string>,
  failure: (error: unknown) => string,
): AsyncGenerator<string> {
  let stream: ChatStream;
  try {
    stream = await opening;
  } catch (error) {
    yield failure(error);
    return;
  }
  yield* events(stream.chunks);
}

/** The headers {@link callHeaders} writes, as the OpenAPI document gives them on a chat's success. */
export const CALL_HEADERS: Readonly<Record<string, RouteHeader>> = {
  'x-byok-key-source': {
    description: "Whose key paid for the call: the caller's own (`user`) or the system key (`system`).",
    required: true,
    schema: { type: 'string', enum: ['user', 'system'] },
  },
  'x-byok-ignored-parameters': {
    description: 'Sampling parameters the model does not take, left out of the call rather than failing it (`temperature, top_p`).',
    schema: { type: 'string' },
  },
};

/** Chat bodies carry conversations; a bigger one is refused before it is read (a million messages: 413). */
export const CHAT_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * The largest request body any byokit route takes (a chat's). A body limit a framework applies in front of
 * byokit (Fastify's `bodyLimit`) should be at least this, or it refuses chats the other adapters take.
 */
export const MAX_BODY_BYTES = CHAT_BODY_LIMIT_BYTES;

/** What a chat call can be refused with beyond its schema, before or by the provider (spec/http-api.md, errors). */
export const CHAT_ERRORS: readonly RouteError[] = [
  'api_key_required',
  'key_unreadable',
  'model_inactive',
  'model_not_found',
  'provider_key_rejected',
  'budget_exceeded',
  'rate_limited',
  'provider_rate_limited',
  'provider_error',
  'provider_unavailable',
  'provider_timeout',
];

/** `POST /llm/chat/completions`, plain and streaming (spec/http-api.md, "Chat"). */
export function chatRoutes(chat: ChatService, logger: Logger, keepAlive: KeepAlive): Route<any, any, any>[] {
  return [
    defineRoute<ChatCompletionRequest, undefined>({
      method: 'POST',
      path: '/llm/chat/completions',
      access: 'user',
      summary: "A chat completion through the model's provider with your key (or the system key); `stream: true` for server-sent events.",
      body: chatCompletionBody,
      bodyLimitBytes: CHAT_BODY_LIMIT_BYTES,
      response: chatCompletion,
      successHeaders: CALL_HEADERS,
      streamEvent: chatCompletionChunk,
      errors: CHAT_ERRORS,
      handle: async ({ principal, body, requestId, signal }): Promise<RouteResult> => {
        if (body.stream) {
          const context = { requestId, logger, signal };
          return streamedChat(
            keepAlive,
            (calling) => chat.stream(principal.userId, body, { signal, requestId, calling }),
            (chunks) => serverSentChunks(chunks, context),
            (error) => errorEvent(error, context),
          );
        }
        const { keySource, ignoredParameters, completion } = await chat.complete(principal.userId, body, { signal, requestId });
        return { headers: callHeaders(keySource, ignoredParameters), body: completion };
      },
    }),
  ];
}
