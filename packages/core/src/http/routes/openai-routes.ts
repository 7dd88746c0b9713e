import type { ChatService } from '../../chat/chat-service.js';
import type { KeepAlive } from '../../chat/keep-alive.js';
import { errorEvent, serverSentChunks } from '../../chat/server-sent-chunks.js';
import { ByokitError } from '../../errors.js';
import type { Logger } from '../../logging/logger.js';
import type { ModelDirectory } from '../../models/model-directory.js';
import { openAIErrorBody } from '../../openai-compatible/openai-error.js';
import { findModel, inCallersTerms, listedName, toChatRequest } from '../../openai-compatible/openai-request.js';
import { toOpenAIChunks, toOpenAICompletion } from '../../openai-compatible/openai-response.js';
import {
  openAIChatBody,
  openAIChunk,
  openAICompletion,
  openAIError,
  openAIModel,
  openAIModelList,
  openAIModelParams,
  type OpenAIChatRequest,
} from '../../openai-compatible/openai-schemas.js';
import type { KeyResolver } from '../../resolve/key-resolver.js';
import { defineRoute, type Route, type RouteResult } from '../route.js';
import { CALL_HEADERS, CHAT_BODY_LIMIT_BYTES, CHAT_ERRORS, callHeaders, streamedChat } from './chat-routes.js';

const modelNotFound = () =>
  new ByokitError('model_not_found', 'No model you can use has this name or id: list them with GET /openai/v1/models.');

/**
 * The OpenAI-compatible surface (spec/http-api.md, "OpenAI-compatible surface"; docs/http-api.md for the
 * decisions): OpenAI's `chat.completions` and `models` in OpenAI's own format, so that the official `openai`
 * client, pointed at `<prefix>/openai/v1` with the host's bearer token as its key, works unchanged. Only
 * translation: the chat goes through the same ChatService (limits, key resolution, budget, rate limit, usage
 * records), the model list follows the same rule as `GET /llm-models/?is_active=true`, and errors keep core's
 * status, written in OpenAI's shape.
 */
export function openAIRoutes(
  chat: ChatService,
  models: ModelDirectory,
  resolver: KeyResolver,
  logger: Logger,
  keepAlive: KeepAlive,
): Route<any, any, any>[] {
  /** The models the caller can use now: active, and their provider resolves to a key for them. */
  const usableModels = async (userId: string) => {
    const [catalog, sources] = await Promise.all([models.catalog(), resolver.sourcesOf(userId)]);
    return { catalog, models: catalog.all().filter((model) => model.isActive && sources[model.provider] !== null) };
  };

  return [
    defineRoute<OpenAIChatRequest, undefined>({
      method: 'POST',
      path: '/openai/v1/chat/completions',
      access: 'user',
      summary: "OpenAI's chat completion, in OpenAI's format, with any model of the catalog (`stream: true` for server-sent events).",
      body: openAIChatBody,
      bodyLimitBytes: CHAT_BODY_LIMIT_BYTES,
      response: openAICompletion,
      successHeaders: CALL_HEADERS,
      streamEvent: openAIChunk,
      errors: CHAT_ERRORS,
      errorSchema: openAIError,
      errorFormat: openAIErrorBody,
      handle: async ({ principal, body, requestId, signal }): Promise<RouteResult> => {
        const model = findModel(await models.catalog(), body.model);
        if (!model) throw modelNotFound();
        const request = toChatRequest(body, model);
        // Errors raised before the answer starts (the model's limits among them) in the caller's terms.
        const inTermsOfCaller = (error: unknown) => {
          throw inCallersTerms(error, body);
        };
        if (request.stream) {
          const includeUsage = body.stream_options?.include_usage === true;
          const context = { requestId, logger, signal, errorFormat: openAIErrorBody };
          return streamedChat(
            keepAlive,
            (calling) => chat.stream(principal.userId, request, { signal, requestId, calling }).catch(inTermsOfCaller),
            (chunks) => serverSentChunks(toOpenAIChunks(chunks, includeUsage), context),
            // Already in the caller's terms (`inTermsOfCaller` above).
            (error) => errorEvent(error, context),
          );
        }
        const { keySource, ignoredParameters, completion } = await chat
          .complete(principal.userId, request, { signal, requestId })
          .catch(inTermsOfCaller);
        return { headers: callHeaders(keySource, ignoredParameters), body: toOpenAICompletion(completion) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/openai/v1/models',
      access: 'user',
      summary: "The models you can use now, in OpenAI's list format: the same rule as GET /llm-models/?is_active=true.",
      response: openAIModelList,
      errorSchema: openAIError,
      errorFormat: openAIErrorBody,
      handle: async ({ principal }) => {
        const { catalog, models: usable } = await usableModels(principal.userId);
        const data = usable.map((model) => ({ id: listedName(catalog, model), object: 'model', created: 0, owned_by: model.provider }));
        return { body: { object: 'list', data } };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/openai/v1/models/:model',
      access: 'user',
      summary: "One model you can use now, by name or catalog UUID, in OpenAI's format; 404 when you cannot use it.",
      params: openAIModelParams,
      response: openAIModel,
      errors: ['model_not_found'],
      errorSchema: openAIError,
      errorFormat: openAIErrorBody,
      handle: async ({ principal, params }) => {
        const { catalog, models: usable } = await usableModels(principal.userId);
        const model = findModel(catalog, params.model);
        if (!model || !usable.includes(model)) throw modelNotFound();
        return { body: { id: listedName(catalog, model), object: 'model', created: 0, owned_by: model.provider } };
      },
    }),
  ];
}
