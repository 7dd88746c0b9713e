import { z } from 'zod';

/**
 * The largest token count byokit takes from a provider: 2^50, about 10^15 tokens, far beyond any model's
 * window. The bound keeps every sum byokit makes of counts exact (Anthropic's whole prompt adds three counts,
 * Gemini's output two, the total two more): a larger count is a broken answer (`provider_error`), not a sum past
 * `Number.MAX_SAFE_INTEGER` that the cost and the usage record cannot hold.
 */
export const MAX_TOKEN_COUNT = 2 ** 50;

/** A token count in a provider's answer: a whole number from 0 to {@link MAX_TOKEN_COUNT}. Internal (zod). */
export const tokenCount = z.number().int().min(0).max(MAX_TOKEN_COUNT);
