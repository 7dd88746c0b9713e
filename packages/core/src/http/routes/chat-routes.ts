import type { ChatService } from '../../chat/chat-service.js';
import { chatCompletion, chatCompletionBody, type ChatCompletionRequest } from '../../chat/chat-schemas.js';
import { serverSentChunks } from '../../chat/server-sent-chunks.js';
import type { Logger } from '../../logging/logger.js';
import { defineRoute, type Route, type RouteResult } from '../route.js';

/** Whose key paid (spec/http-api.md, key resolution), and what the model refused and byokit left out. */
function callHeaders(keySource: string, ignored: readonly string[]): Record<string, string> {
  return { 'x-byok-key-source': keySource, ...(ignored.length > 0 && { 'x-byok-ignored-parameters': ignored.join(', ') }) };
}

/** Chat bodies carry conversations; a bigger one is refused before it is read (a million messages: 413). */
export const CHAT_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

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
      handle: async ({ principal, body, requestId, signal }): Promise<RouteResult> => {
        if (body.stream) {
          const { keySource, ignoredParameters, chunks } = await chat.stream(principal.userId, body, { signal, requestId });
          return {
            contentType: 'text/event-stream; charset=utf-8',
            // no-cache and no proxy buffering: each chunk should reach the client as it is made.
            headers: { ...callHeaders(keySource, ignoredParameters), 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
            stream: serverSentChunks(chunks, requestId, logger),
          };
        }
        const { keySource, ignoredParameters, ...completion } = await chat.complete(principal.userId, body, { signal, requestId });
        return { headers: callHeaders(keySource, ignoredParameters), body: completion };
      },
    }),
  ];
}
