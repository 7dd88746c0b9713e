import type { ChatService } from '../../chat/chat-service.js';
import { chatCompletion, chatCompletionBody, chatCompletionChunk, type ChatCompletionRequest } from '../../chat/chat-schemas.js';
import { serverSentChunks } from '../../chat/server-sent-chunks.js';
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
 * each chunk reaches the client as it is made: not to be cached (`no-cache`), nor transformed (`no-transform`: a
 * host's compression middleware, `compression` and `@fastify/compress` alike, would otherwise gzip it and hold
 * each chunk until it had enough to compress, the first with the last), nor buffered by a proxy (nginx's
 * `x-accel-buffering`).
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
export function chatRoutes(chat: ChatService, logger: Logger): Route<any, any, any>[] {
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
          const { keySource, ignoredParameters, chunks } = await chat.stream(principal.userId, body, { signal, requestId });
          return streamedAnswer(keySource, ignoredParameters, serverSentChunks(chunks, { requestId, logger, signal }));
        }
        const { keySource, ignoredParameters, completion } = await chat.complete(principal.userId, body, { signal, requestId });
        return { headers: callHeaders(keySource, ignoredParameters), body: completion };
      },
    }),
  ];
}
