/**
 * A provider's error as the caller of a chat sees it: scrubbed of the key the call was made with, and saying whose key
 * was refused or rate limited (the user's, or the system key, with what the user can do meanwhile).
 */
import type { CatalogModel } from '../catalog/model.js';
import { ByokitError, isByokitError, type ErrorCode } from '../errors.js';
import { WITH_ARTICLE } from '../keys/key-patterns.js';
import { PROVIDER_LABELS, type Provider } from '../keys/providers.js';
import { scrubKnownSecret } from '../keys/scrub-secrets.js';
import { scrubbedError } from '../keys/scrubbed-error.js';
import type { ResolvedKey } from '../resolve/key-resolver.js';

/** What of a call its error is told: the key it was made with, and the model. */
interface KeyedCall {
  resolved: ResolvedKey;
  model: CatalogModel;
}

/**
 * A provider's error as the caller sees it. Its text holds no piece of the key the call was made with: the
 * clients scrub what looks like a key, but an upstream (or a proxy before it) may echo this one in a shape no
 * pattern knows (cut, encoded, glued to other text), and only here is the key itself at hand. A refused key
 * also says whose it was (`key_source`), so the caller knows whom to tell. The error from below (undici's, or
 * the host's dispatcher's) is kept as the cause only as a scrubbed copy ({@link scrubbedError}): it may quote
 * the request, headers and key included, and a host that logs the rejection prints its whole chain. It names the
 * model, for the failure's log line.
 */
export function callerError(error: unknown, { resolved, model }: KeyedCall): unknown {
  if (!isByokitError(error)) return error;
  // Refused or rate limited, it is the key's doing: the caller's to put right, or the operator's.
  const whoseDoing = error.code === 'provider_key_rejected' || error.code === 'provider_rate_limited';
  const key = resolved.key.reveal();
  const message = scrubKnownSecret(error.message, key);
  if (whoseDoing && resolved.source === 'system') {
    // The provider's words speak to the key's owner, the host ("You can find your API key at…", "check your plan and
    // billing details", "…in organization org-…"): to a user without a key of their own they read as being about
    // theirs. The user is told whose key it is and what they can do; the words are kept as the cause, which the
    // error's log line shows the operator.
    return new ByokitError(
      error.code,
      systemKeyMessage(error.code, model.provider),
      { ...error.details, keySource: resolved.source, model: model.model },
      { cause: scrubbedError(error, key) },
    );
  }
  // Said after the provider's words, which byokit's sentence closes (upstreamDetail): whose key, and what to do.
  const yours =
    error.code === 'provider_key_rejected'
      ? ' This is your personal key: enter a working one in your profile, or remove it.'
      : ' This limit is on your personal key.';
  const callers = new ByokitError(
    error.code,
    whoseDoing ? `${message}${yours}` : message,
    { ...error.details, ...(whoseDoing && { keySource: resolved.source }), model: model.model },
    error.cause === undefined ? undefined : { cause: scrubbedError(error.cause, key) },
  );
  // The stack of where the failure was met, when its first line (the message) held nothing to scrub.
  if (message === error.message) callers.stack = error.stack;
  return callers;
}

/** What a user is told of the system key refused or rate limited by its provider (callerError). */
function systemKeyMessage(code: ErrorCode, provider: Provider): string {
  const label = PROVIDER_LABELS[provider];
  const ownKey = `add your own ${label} key in your profile`;
  return code === 'provider_key_rejected'
    ? `The ${label} API refused the system key (revoked, or its account out of credit): only an admin can put it right. To go on meanwhile, ${ownKey}.`
    : `The ${label} API is rate limiting the system key, which every user without ${WITH_ARTICLE[provider]} key of their own shares: try again later, or ${ownKey}.`;
}

/** Runs `call`, any error it throws made the caller's ({@link callerError}). */
export async function withKeySource<T>(prepared: KeyedCall, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw callerError(error, prepared);
  }
}
