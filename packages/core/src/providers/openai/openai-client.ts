import { ByokitError, isByokitError } from '../../errors.js';
import type { SecretKey } from '../../keys/secret-key.js';
import { ProviderHttp } from '../provider-http.js';
import { revealedFor } from '../revealed-key.js';
import type {
  KeyCheck,
  ProviderCallOptions,
  ProviderChatRequest,
  ProviderChatResponse,
  ProviderClient,
  ProviderSettings,
  ProviderStreamEvent,
} from '../provider-types.js';
import { convertToOpenAIRequest } from './convert-to-openai-request.js';
import { mapOpenAIFinishReason } from './map-openai-finish-reason.js';
import { openaiCompletionSchema, openaiErrorSchema } from './openai-api.js';
import { openaiErrorToByokitError, readOpenAIError } from './openai-error.js';
import { openaiStreamDecoder } from './openai-stream.js';
import { convertOpenAIUsage } from './openai-usage.js';

export { OPENAI_LIMITS } from './openai-limits.js';

/**
 * A client for OpenAI's Chat Completions API (https://platform.openai.com/docs/api-reference/chat).
 *
 * `settings.baseUrl` has the OpenAI SDK's meaning, `https://api.openai.com/v1`: paths are relative to it
 * (`chat/completions`, `models`). The key goes only into `Authorization: Bearer …`, never into a URL or a body
 * (spec/security.md, "Secrets never leave"); redirects are never followed (ProviderHttp).
 */
export function openaiClient(settings: ProviderSettings): ProviderClient {
  const http = new ProviderHttp('openai', settings, readOpenAIError);
  return {
    provider: 'openai',
    complete: (request, options) => complete(http, request, options),
    stream: (request, options) => stream(http, request, options),
    checkKey: (options) => checkKey(http, options),
    close: () => http.close(),
  };
}

async function complete(http: ProviderHttp, request: ProviderChatRequest, options: ProviderCallOptions): Promise<ProviderChatResponse> {
  const { body } = convertToOpenAIRequest(request, false);
  const data = await http.postJson('chat/completions', body, authorization(options.key), options);
  // OpenAI-compatible gateways may answer an error with HTTP 200: map it like the stream's error events.
  const error = openaiErrorSchema.safeParse(data);
  if (error.success) throw openaiErrorToByokitError(error.data.error);
  const parsed = openaiCompletionSchema.safeParse(data);
  // The body is never echoed (it may hold anything); the path of the first problem helps whoever debugs it.
  if (!parsed.success)
    throw unreadable(`the answer did not have the expected shape (at ${parsed.error.issues[0]?.path.map(String).join('.') || 'the top'})`);
  const completion = parsed.data;
  const choice = completion.choices.find((candidate) => candidate.index === 0);
  if (!choice) throw unreadable('the answer had no choices');
  // A refusal comes as the model's words in `message.refusal`, `content` null, and `finish_reason: "stop"`
  // (https://platform.openai.com/docs/guides/structured-outputs#refusals): its words are the answer, and
  // `content_filter` says it was refused, as for Anthropic's `refusal` and Gemini's `SAFETY`.
  const refusal = choice.message.refusal ?? '';
  return {
    id: completion.id,
    model: completion.model,
    content: (choice.message.content ?? '') + refusal,
    finishReason: refusal === '' ? mapOpenAIFinishReason(choice.finish_reason) : 'content_filter',
    usage: convertOpenAIUsage(completion.usage),
  };
}

async function stream(
  http: ProviderHttp,
  request: ProviderChatRequest,
  options: ProviderCallOptions,
): Promise<AsyncIterable<ProviderStreamEvent>> {
  const { body } = convertToOpenAIRequest(request, true);
  return http.postStream('chat/completions', body, authorization(options.key), openaiStreamDecoder(), options);
}

/**
 * Asks OpenAI whether a key works by listing models (`GET /v1/models`, free). 401/403 mean the key was refused,
 * with one exception: a restricted key without the Models "Read" permission gets 401 "You have insufficient
 * permissions for this operation. Missing scopes: api.model.read" there, yet may well be allowed to chat. Since
 * `invalid` would refuse to save a working key, that answer counts as `unreachable` (could not tell).
 */
async function checkKey(http: ProviderHttp, options: ProviderCallOptions): Promise<KeyCheck> {
  try {
    await http.probe('models', authorization(options.key), options);
    return 'valid';
  } catch (error) {
    // The caller's abort, or OpenAI failing: the caller logs it and saves the key unverified.
    if (!isByokitError(error) || error.code !== 'provider_key_rejected') throw error;
    // The refusal's message is OpenAI's own, scrubbed and quoted by ProviderHttp.
    return error.message.includes('Missing scopes') ? 'unreachable' : 'invalid';
  }
}

function authorization(key: SecretKey): Record<string, string> {
  // A key of another provider must never be sent to OpenAI (it would be disclosed to a third party).
  return { authorization: `Bearer ${revealedFor('openai', key)}` };
}

function unreadable(reason: string): ByokitError {
  return new ByokitError('provider_error', `The OpenAI API sent an answer byokit could not read: ${reason}.`, { provider: 'openai' });
}
