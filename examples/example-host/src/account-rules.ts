import { z } from 'zod';

/**
 * What an account of the example server may be: the rules signup holds a user to, and start-up the first admin
 * (FIRST_SUPERUSER, FIRST_SUPERUSER_PASSWORD), so that no start creates an admin whom login then refuses.
 */
export const PASSWORD_MIN_LENGTH = 8;
/** Login reads no longer password: an account with one could never log in. */
export const PASSWORD_MAX_LENGTH = 128;

/** An email address as signup takes it (the longest a mail path allows, RFC 5321 §4.5.3.1.3). */
export const emailSchema = z.email({ error: 'Send an email address, such as you@example.com.' }).max(254, {
  error: 'An email address has at most 254 characters.',
});
export const passwordSchema = z
  .string({ error: 'Send a password, as a string.' })
  .min(PASSWORD_MIN_LENGTH, { error: `A password has at least ${PASSWORD_MIN_LENGTH} characters.` })
  .max(PASSWORD_MAX_LENGTH, { error: `A password has at most ${PASSWORD_MAX_LENGTH} characters.` });
