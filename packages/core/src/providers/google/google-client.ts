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
import { googleResponseSchema } from './google-api.js';
import { readGoogleError } from './google-error.js';
import { convertGoogleResponse } from './google-response.js';
import { googleStreamDecoder } from './google-stream.js';
import { convertToGoogleRequest } from './convert-to-google-request.js';

export { GOOGLE_LIMITS } from './google-limits.js';

/**
 * The path of a model method under the base URL (`https://generativelanguage.googleapis.com`, the SDK's
 * meaning), e.g. `v1beta/models/gemini-2.5-flash:generateContent`. The model name comes from the catalog
 * and is path-encoded all the same (spec/security.md, "No SSRF"): `/`, `?`, `#` and `%` are escaped, so no
 * name leaves `v1beta/models/` or adds a query, and the `:method` suffix means a name is never a bare `.`
 * or `..` segment. The catalog holds the bare name (`gemini-2.5-flash`, not `models/gemini-2.5-flash`).
 */
export function googleModelPath(model: string, method: 'generateContent' | 'streamGenerateContent'): string {
  return `v1beta/models/${encodeURIComponent(model)}:${method}`;
}

/**
 * The key goes in `x-goog-api-key` and nowhere else: never `?key=` in a URL, which ends up in logs (spec/security.md).
 * A key of another provider is refused here, so that it can never be sent to Google.
 */
function keyHeaders(options: ProviderCallOptions): Record<string, string> {
  return { 'x-goog-api-key': revealedFor('google', options.key) };
}

const unreadable = () => new ByokitError('provider_error', 'The Google API sent an answer byokit could not read.', { provider: 'google' });

/**
 * A client for the Gemini API (https://ai.google.dev/api): `complete` calls `:generateContent`, `stream` calls
 * `:streamGenerateContent?alt=sse`, `checkKey` lists models. Base URL, timeout and retries come from `settings`
 * (host configuration, never a request).
 */
export function googleClient(settings: ProviderSettings): ProviderClient {
  const http = new ProviderHttp('google', settings, readGoogleError);
  return {
    provider: 'google',
    close: () => http.close(),

    async complete(request: ProviderChatRequest, options: ProviderCallOptions): Promise<ProviderChatResponse> {
      const { body } = convertToGoogleRequest(request);
      const json = await http.postJson(googleModelPath(request.model, 'generateContent'), body, keyHeaders(options), options);
      // No cause and no zod issues attached: they could carry parts of the body into logs.
      const parsed = googleResponseSchema.safeParse(json);
      if (!parsed.success) throw unreadable();
      return convertGoogleResponse(parsed.data, request.model);
    },

    async stream(request: ProviderChatRequest, options: ProviderCallOptions): Promise<AsyncIterable<ProviderStreamEvent>> {
      const { body } = convertToGoogleRequest(request);
      const path = `${googleModelPath(request.model, 'streamGenerateContent')}?alt=sse`;
      return http.postStream(path, body, keyHeaders(options), googleStreamDecoder(), options);
    },

    async checkKey(options: ProviderCallOptions): Promise<KeyCheck> {
      try {
        // Listing models is free (https://ai.google.dev/api/models#method:-models.list); the list itself is not needed.
        await http.probe('v1beta/models', keyHeaders(options), options);
        return 'valid';
      } catch (error) {
        if (isByokitError(error) && error.code === 'provider_key_rejected') return 'invalid';
        throw error;
      }
    },
  };
}
