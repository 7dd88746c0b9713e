import { ByokitError, isByokitError } from '../../errors.js';
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
import { anthropicErrorSchema, anthropicMessageSchema, isTextBlock, type AnthropicMessageResponse } from './anthropic-api.js';
import { anthropicErrorToByokitError, readAnthropicError } from './anthropic-error.js';
import { anthropicStreamDecoder } from './anthropic-stream.js';
import { convertAnthropicUsage } from './anthropic-usage.js';
import { convertToAnthropicRequest } from './convert-to-anthropic-request.js';
import { mapAnthropicFinishReason } from './map-anthropic-finish-reason.js';

export { ANTHROPIC_LIMITS } from './anthropic-limits.js';

/** The API version byokit speaks (https://docs.anthropic.com/en/api/versioning). */
const ANTHROPIC_VERSION = '2023-06-01';

/**
 * A client for Anthropic's Messages API (https://docs.anthropic.com/en/api/messages). `settings.baseUrl`
 * has the official SDK's meaning, `https://api.anthropic.com`, to which `v1/messages` is appended. The key
 * travels only in the `x-api-key` header (spec/security.md, "Secrets never leave"); redirects are never
 * followed, so it cannot be carried to another host.
 *
 * - `complete()` concatenates the answer's text blocks (thinking and other blocks are not the answer).
 * - `stream()` resolves once the HTTP status is checked; failures after that, even an `error` event right after
 *   HTTP 200, arrive as an `error` event that ends the iteration (the chat service reads the first event before
 *   answering, for every provider). Leaving the loop early aborts the upstream request.
 * - `checkKey()` lists models, which is free.
 *
 * Request warnings are not surfaced: the ProviderClient interface has no place for them. What a caller must be told
 * of is decided before the call instead: `top_p` next to `temperature` is left out by the chat service and named in
 * `x-byok-ignored-parameters` (anthropic-limits.ts, `anthropicLeftOut`).
 */
export function anthropicClient(settings: ProviderSettings): ProviderClient {
  const http = new ProviderHttp('anthropic', settings, readAnthropicError);

  return {
    provider: 'anthropic',
    close: () => http.close(),

    async complete(request: ProviderChatRequest, options: ProviderCallOptions): Promise<ProviderChatResponse> {
      const { body } = convertToAnthropicRequest(request, false);
      return toChatResponse(readMessage(await http.postJson('v1/messages', body, headersFor(options), options)));
    },

    async stream(request: ProviderChatRequest, options: ProviderCallOptions): Promise<AsyncIterable<ProviderStreamEvent>> {
      const { body } = convertToAnthropicRequest(request, true);
      return http.postStream('v1/messages', body, headersFor(options), anthropicStreamDecoder(), options);
    },

    async checkKey(options: ProviderCallOptions): Promise<KeyCheck> {
      try {
        // https://docs.anthropic.com/en/api/models-list; one model is enough to know the key works.
        await http.probe('v1/models?limit=1', headersFor(options), options);
        return 'valid';
      } catch (error) {
        if (isByokitError(error) && error.code === 'provider_key_rejected' && !options.signal?.aborted) return 'invalid';
        throw error;
      }
    },
  };
}

/**
 * The only place the key is revealed: the `x-api-key` header (https://docs.anthropic.com/en/api/overview#authentication).
 * A key of another provider is refused here, so that it can never be sent to Anthropic.
 */
function headersFor(options: ProviderCallOptions): Record<string, string> {
  return { 'x-api-key': revealedFor('anthropic', options.key), 'anthropic-version': ANTHROPIC_VERSION };
}

/** The answer as a message; what does not parse is a `provider_error` that quotes none of the body. */
function readMessage(json: unknown): AnthropicMessageResponse {
  const message = anthropicMessageSchema.safeParse(json);
  if (message.success) return message.data;
  // A proxy may pass an Anthropic error body on with HTTP 200.
  const error = anthropicErrorSchema.safeParse(json);
  if (error.success) throw anthropicErrorToByokitError(error.data);
  throw new ByokitError('provider_error', 'The Anthropic API sent a response byokit could not read as a message.', {
    provider: 'anthropic',
  });
}

function toChatResponse(message: AnthropicMessageResponse): ProviderChatResponse {
  return {
    id: message.id,
    model: message.model,
    content: message.content
      .filter(isTextBlock)
      .map((block) => block.text)
      .join(''),
    finishReason: mapAnthropicFinishReason(message.stop_reason),
    usage: convertAnthropicUsage(message.usage),
  };
}
