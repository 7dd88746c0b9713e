import { ByokitError, isByokitError } from '../../errors.js';
import type { SecretKey } from '../../keys/secret-key.js';
import { ProviderHttp } from '../provider-http.js';
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
import { openaiStreamEvents } from './openai-stream.js';
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
    checkKey: (options) => checkKey(settings, options),
  };
}

async function complete(http: ProviderHttp, request: ProviderChatRequest, options: ProviderCallOptions): Promise<ProviderChatResponse> {
  const { body } = convertToOpenAIRequest(request, false);
  const response = await http.post('chat/completions', body, authorization(options.key), options.signal);
  const data = await readJsonBody(response);
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
  return {
    id: completion.id,
    model: completion.model,
    content: choice.message.content ?? '',
    finishReason: mapOpenAIFinishReason(choice.finish_reason),
    usage: convertOpenAIUsage(completion.usage),
  };
}

async function stream(
  http: ProviderHttp,
  request: ProviderChatRequest,
  options: ProviderCallOptions,
): Promise<AsyncIterable<ProviderStreamEvent>> {
  const { body } = convertToOpenAIRequest(request, true);
  const response = await http.post('chat/completions', body, authorization(options.key), options.signal);
  if (!response.body) throw unreadable('the stream had no body');
  return openaiStreamEvents(response.body, options.signal);
}

/**
 * Asks OpenAI whether a key works by listing models (`GET /v1/models`, free). 401/403 mean the key was refused,
 * with one exception: a restricted key without the Models "Read" permission gets 401 "You have insufficient
 * permissions for this operation. Missing scopes: api.model.read" there, yet may well be allowed to chat. Since
 * `invalid` would refuse to save a working key, that answer counts as `unreachable` (could not tell).
 */
async function checkKey(settings: ProviderSettings, options: ProviderCallOptions): Promise<KeyCheck> {
  let missingScopes = false;
  // Its own ProviderHttp, so that the error reader can note what this one call was told.
  const http = new ProviderHttp('openai', settings, (body) => {
    const info = readOpenAIError(body);
    missingScopes = info.message?.includes('Missing scopes') ?? false;
    return info;
  });
  try {
    const response = await http.get('models', authorization(options.key), options.signal);
    // Only the status matters; release the connection.
    await response.body?.cancel();
    return 'valid';
  } catch (error) {
    if (!isByokitError(error)) throw error; // the caller's abort
    return error.code === 'provider_key_rejected' && !missingScopes ? 'invalid' : 'unreachable';
  }
}

function authorization(key: SecretKey): Record<string, string> {
  // A key of another provider must never be sent to OpenAI (it would be disclosed to a third party).
  if (key.provider !== 'openai') {
    throw new ByokitError('internal_error', `A key for ${key.provider} was handed to the OpenAI client; nothing was sent.`);
  }
  return { authorization: `Bearer ${key.reveal()}` };
}

async function readJsonBody(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    if (error instanceof SyntaxError) throw unreadable('the answer was not JSON');
    // The caller went away while the body was read: not the provider's failure.
    if ((error as { name?: string }).name === 'AbortError') throw error;
    throw new ByokitError(
      'provider_unavailable',
      'The connection to the OpenAI API broke off mid-answer.',
      { provider: 'openai' },
      { cause: error },
    );
  }
}

function unreadable(reason: string): ByokitError {
  return new ByokitError('provider_error', `The OpenAI API sent an answer byokit could not read: ${reason}.`, { provider: 'openai' });
}
