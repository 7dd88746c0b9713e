import { z } from 'zod';
import { holdsWholeKey } from '../../keys/key-patterns.js';
import { holdsSecret } from '../../keys/scrub-secrets.js';
import { kindOfOption } from '../../host-option-checks.js';
import { hasAtMostCharacters } from '../../whole-characters.js';

const WELL_FORMED = 'The text must be well-formed Unicode (no lone surrogates), which alone can be stored as written.';

/**
 * Text a request gives that byokit stores or looks up in storage: a user id, a model's display name. 1 to
 * `maxLength` characters, no NUL (U+0000), which PostgreSQL's `text` cannot hold, and well-formed Unicode: a
 * lone surrogate (`"\ud83d"`) is stored as U+FFFD by PostgreSQL's UTF-8 but kept by memory storage, so the
 * answer and a later read would differ. Refused here with 422, for every storage alike.
 */
export function storedText(maxLength: number) {
  return (
    z
      .string()
      .min(1)
      .max(maxLength)
      .regex(/^[^\u0000]*$/, 'The text holds a NUL character (U+0000), which cannot be stored.')
      .refine((text) => text.isWellFormed(), WELL_FORMED)
      // The refinement in words: the OpenAPI document cannot give it as JSON Schema.
      .describe(WELL_FORMED)
  );
}

/** Why text that looks like a provider key is refused (`shownText`, a model's provider name). */
export const NOT_A_KEY = 'Text that looks like a provider API key is refused: a key is never stored or shown in plain text.';

/**
 * Text of the catalog, which every signed-in user is shown (a model's display name): one that looks like a provider
 * key is a key pasted in the wrong place, refused rather than stored in plain text and shown to everyone.
 */
export function shownText(maxLength: number) {
  return storedText(maxLength)
    .refine((text) => !holdsSecret(text), NOT_A_KEY)
    .describe(`${WELL_FORMED} ${NOT_A_KEY}`);
}

/**
 * The longest user id, in characters (code points: an emoji is one), as zod's `max()`, the OpenAPI document's
 * `maxLength` and PostgreSQL's `length()` count them: what storage-postgres's key table holds, and at 4 bytes a
 * character still well under the ~2,700 bytes its indexes take, so that every storage takes every user id.
 */
export const MAX_USER_ID_LENGTH = 255;

/** The rule a user id from the host or from code is held to, in words, for the messages that refuse one. */
export const USER_ID_RULE =
  `a non-empty string of at most ${MAX_USER_ID_LENGTH} characters of well-formed Unicode without NUL (U+0000), ` +
  'holding no provider API key, and not `.` or `..`';

const NOT_A_USER_ID = 'This holds a provider API key, not a user id; it was not stored.';
const NOT_A_SEGMENT = 'A user id is never . or .., which no URL path can hold.';

/**
 * `.` and `..`, which clients and fetch runtimes remove from a URL path, escaped (`%2E%2E`) or not (RFC 3986 §5.2.4,
 * the WHATWG URL standard): `PUT /admin/users/%2E%2E/budget` reaches `/admin/budget`. A user with such an id could
 * call, and no admin could give them a budget.
 */
const isDotSegment = (userId: string) => userId === '.' || userId === '..';

/**
 * A user id as the host's `authenticate` gives it, addressed by admins in paths and queries: the same rule as the
 * principal's ({@link userIdProblem}), so that an admin can reach every user who can call. Only text holding a whole
 * key in its provider's own format is refused as a key pasted in the wrong place, not text the looser scrubbing
 * patterns find:
 * a user may choose an id such as `sk-developer-account@example.com` or `bearer+alice@example.com`, which was refused
 * here while that user could call, so no admin could give them a budget.
 */
export const userIdText = storedText(MAX_USER_ID_LENGTH)
  .refine((userId) => !holdsWholeKey(userId), NOT_A_USER_ID)
  .refine((userId) => !isDotSegment(userId), NOT_A_SEGMENT)
  // The refinements in words: the OpenAPI document cannot give them as JSON Schema.
  .describe(`${WELL_FORMED} ${NOT_A_USER_ID} ${NOT_A_SEGMENT}`);

/**
 * The same rule for a user id byokit did not take from a request: the principal the host's `authenticate` returns,
 * and a user id given in code. What is wrong with it, in words that never quote it; undefined when nothing is. A
 * provider key in the id (a host that used a key-shaped token as it) would be written in plain text into
 * usage records and audit entries.
 */
export function userIdProblem(userId: unknown): string | undefined {
  if (typeof userId !== 'string') return `userId is ${kindOfOption(userId)}, not a string`;
  if (userId === '') return 'userId is empty';
  // Counted as the route's schema counts: in UTF-16 units, a user id of 128 to 255 emoji passed an admin's path
  // and was refused as the host's principal.
  if (!hasAtMostCharacters(userId, MAX_USER_ID_LENGTH)) return `userId is longer than ${MAX_USER_ID_LENGTH} characters`;
  if (userId.includes('\u0000')) return 'userId holds a NUL character (U+0000)';
  if (!userId.isWellFormed()) return 'userId is not well-formed Unicode (it holds a lone surrogate)';
  if (holdsWholeKey(userId)) return 'userId holds a provider API key';
  if (isDotSegment(userId)) return 'userId is . or .., which no URL path can hold';
  return undefined;
}
