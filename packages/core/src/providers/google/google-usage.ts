import type { TokenUsage } from '../provider-types.js';
import type { GoogleUsageMetadata } from './google-api.js';

/**
 * Gemini's `usageMetadata` in byokit's meaning (provider-types.ts, TokenUsage;
 * https://ai.google.dev/api/generate-content#UsageMetadata):
 * - `inputTokens` = `promptTokenCount`, which already includes `cachedContentTokenCount`;
 * - `cachedInputTokens` = `cachedContentTokenCount`;
 * - `outputTokens` = `candidatesTokenCount + thoughtsTokenCount`: Gemini counts thinking apart from the
 *   answer, and bills both as output (https://ai.google.dev/gemini-api/docs/thinking#pricing);
 * - `reasoningTokens` = `thoughtsTokenCount`.
 *
 * A count Gemini did not send stays `undefined`, never 0. Streamed chunks carry the running total, so each
 * chunk's usage replaces the previous one; never add them up.
 */
export function convertGoogleUsage(usage: GoogleUsageMetadata | undefined): TokenUsage {
  if (usage === undefined) return {};
  const { promptTokenCount, candidatesTokenCount, thoughtsTokenCount, cachedContentTokenCount } = usage;
  const outputTokens =
    candidatesTokenCount === undefined && thoughtsTokenCount === undefined
      ? undefined
      : (candidatesTokenCount ?? 0) + (thoughtsTokenCount ?? 0);
  return withoutUndefined({
    inputTokens: promptTokenCount,
    outputTokens,
    cachedInputTokens: cachedContentTokenCount,
    reasoningTokens: thoughtsTokenCount,
  });
}

/** Leaves unreported counts out entirely, so `toEqual` and JSON see only what Gemini said. */
function withoutUndefined(usage: TokenUsage): TokenUsage {
  return Object.fromEntries(Object.entries(usage).filter(([, value]) => value !== undefined)) as TokenUsage;
}
