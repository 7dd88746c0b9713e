import { z } from 'zod';

/**
 * Text a request gives that byokit stores or looks up in storage: a user id, a model's display name. 1 to
 * `maxLength` characters and no NUL (U+0000), which PostgreSQL's `text` cannot hold: refused here with 422,
 * for every storage alike, rather than failing in the database as a 500.
 */
export function storedText(maxLength: number) {
  return z
    .string()
    .min(1)
    .max(maxLength)
    .regex(/^[^\u0000]*$/, 'The text holds a NUL character (U+0000), which cannot be stored.');
}

/** A user id as the host's `authenticate` gives it, addressed by admins in paths and queries. */
export const userIdText = storedText(200);

/**
 * The same rule, without the length bound, for a user id byokit did not take from a request: the principal
 * the host's `authenticate` returns, and a user id given in code.
 */
export const isStorableUserId = (userId: unknown): userId is string =>
  typeof userId === 'string' && userId !== '' && !userId.includes('\u0000');
