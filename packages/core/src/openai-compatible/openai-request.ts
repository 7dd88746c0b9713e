import type { ModelCatalog } from '../catalog/catalog.js';
import type { CatalogModel } from '../catalog/model.js';
import { chatCompletionBody, type ChatCompletionRequest } from '../chat/chat-schemas.js';
import { ByokitError, isByokitError } from '../errors.js';
import { isProvider, PROVIDERS } from '../keys/providers.js';
import { readableParse, validationFailed } from '../http/validation-error.js';
import type { OpenAIChatRequest } from './openai-schemas.js';

/**
 * The catalog model a request's `model` names, or `undefined`:
 * - a catalog UUID, byokit's `model_id` (any letter case);
 * - `provider/name` (`openai/gpt-6-luna`): exactly that model (model names hold no `/`: model-schemas.ts);
 * - a provider's model name (`claude-sonnet-4-5`). The catalog keeps a name unique within a provider only:
 *   should two providers carry one name, the first active one in the catalog's order (anthropic, openai,
 *   google) wins, and `GET /openai/v1/models` lists the others as `provider/name` (see {@link listedName}).
 */
export function findModel(catalog: ModelCatalog, name: string): CatalogModel | undefined {
  const byId = catalog.get(name);
  if (byId) return byId;
  const slash = name.indexOf('/');
  if (slash !== -1) {
    const provider = name.slice(0, slash);
    return isProvider(provider) ? catalog.byProviderModel(provider, name.slice(slash + 1)) : undefined;
  }
  let inactive: CatalogModel | undefined;
  for (const provider of PROVIDERS) {
    const model = catalog.byProviderModel(provider, name);
    if (model?.isActive) return model;
    inactive ??= model;
  }
  return inactive;
}

/** The `id` a model is listed under: its plain name, unless that name resolves to another provider's model. */
export function listedName(catalog: ModelCatalog, model: CatalogModel): string {
  return findModel(catalog, model.model) === model ? model.model : `${model.provider}/${model.model}`;
}

/**
 * An OpenAI request as byokit's native chat request, checked by the native schema: the same limits, ranges
 * and content rules as `POST /llm/chat/completions`, by construction. Content parts are joined with a newline;
 * `developer` messages are `system` ones; `max_completion_tokens` and `max_tokens` mean the same.
 */
export function toChatRequest(body: OpenAIChatRequest, model: CatalogModel): ChatCompletionRequest {
  const tokensField = tokensFieldOf(body);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (body.max_completion_tokens != null && body.max_tokens != null && body.max_completion_tokens !== body.max_tokens) {
    throw validationFailed([{ path: 'max_tokens', message: 'max_tokens and max_completion_tokens differ: send one of them.' }], 'body');
  }
  const request = {
    model_id: model.id,
    messages: body.messages.map((message) => ({
      role: message.role === 'developer' ? ('system' as const) : message.role,
      content: typeof message.content === 'string' ? message.content : message.content.map((part) => part.text).join('\n'),
    })),
    ...(maxTokens != null && { max_tokens: maxTokens }),
    ...(body.temperature != null && { temperature: body.temperature }),
    ...(body.top_p != null && { top_p: body.top_p }),
    ...(body.stop != null && { stop: body.stop }),
    ...(body.stream != null && { stream: body.stream }),
  };
  const result = chatCompletionBody.safeParse(request, readableParse('body'));
  if (result.success) return result.data;
  throw validationFailed(
    result.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      // The caller's own name for the field it sent.
      return { path: path === 'max_tokens' ? tokensField : path, message: issue.message };
    }),
    'body',
  );
}

/**
 * A refusal of the translated request in the caller's own terms. The model's output limit is checked on the
 * native request (ChatService), whose field is `max_tokens`: a caller who sent `max_completion_tokens` is told
 * that field, as `param`, not one it never sent. Any other error is returned as it is.
 */
export function inCallersTerms(error: unknown, body: OpenAIChatRequest): unknown {
  const field = tokensFieldOf(body);
  if (field === 'max_tokens' || !isByokitError(error) || error.code !== 'validation_failed') return error;
  const issues = error.details.issues;
  if (!issues?.some((issue) => issue.path === 'max_tokens')) return error;
  return new ByokitError(
    error.code,
    error.message,
    { ...error.details, issues: issues.map((issue) => (issue.path === 'max_tokens' ? { ...issue, path: field } : issue)) },
    error.cause === undefined ? undefined : { cause: error.cause },
  );
}

/** The field the caller gave the token limit in; `max_completion_tokens` when it sent both (they must agree). */
function tokensFieldOf(body: OpenAIChatRequest): 'max_completion_tokens' | 'max_tokens' {
  return body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
}
