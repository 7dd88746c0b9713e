import { z } from 'zod';

/**
 * The largest token count byokit takes from a provider: 2^29, about 537 million tokens, far beyond any model's
 * window. A larger count is a broken answer (`provider_error`). The bound keeps every sum byokit makes of counts
 * within what a usage record holds on every storage: Anthropic's whole prompt adds three counts, Gemini's output
 * two, and 3 × 2^29 is below 2^31, the 32-bit integer PostgreSQL keeps each count of a record in. (At 2^50, a
 * record of such an answer was refused by PostgreSQL, "integer out of range": the call, which the provider billed,
 * was left out of usage and budgets.)
 */
export const MAX_TOKEN_COUNT = 2 ** 29;

/** A token count in a provider's answer: a whole number from 0 to {@link MAX_TOKEN_COUNT}. Internal (zod). */
export const tokenCount = z.number().int().min(0).max(MAX_TOKEN_COUNT);
