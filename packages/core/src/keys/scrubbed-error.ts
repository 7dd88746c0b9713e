import { scrubKnownSecret, scrubSecrets } from './scrub-secrets.js';

/** How deep a chain of causes is copied: deeper ones are left out (a chain that long is a loop or a bug). */
const MAX_DEPTH = 5;

/**
 * An error from below byokit (undici, the host's dispatcher, a proxy agent) as byokit may hand it on: a plain
 * `Error` with its name, message and stack, and its own fields that hold a string, number or boolean (`code`,
 * `errno`, `syscall`, `address`, `port`), each text scrubbed of anything that looks like a key and of every
 * 8-character piece of `secret`; its `cause` and an `AggregateError`'s `errors` copied the same way. Fields that
 * hold objects (a request's `headers`, its `options`, a `socket`, a `body`) are left out: whatever wrote them
 * may have put the key there, and a host's logger prints every field of an error (pino's `err` serialiser:
 * `message`, `stack`, `cause` and each own enumerable property). undici's `MockAgent`, for one, quotes the
 * request's headers, key and all, in its message.
 */
export function scrubbedError(error: unknown, secret: string): unknown {
  return copiedError(error, (text) => scrubKnownSecret(scrubSecrets(text), secret));
}

/**
 * An error copied as {@link scrubbedError} copies it, each text passed through `scrub`: its name, message, stack and
 * own text fields, its causes' and an `AggregateError`'s errors'.
 */
export function copiedError(error: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (error === undefined || error === null || typeof error === 'number' || typeof error === 'boolean') return error;
  if (!(error instanceof Error)) return typeof error === 'string' ? scrub(error) : new Error(`not an Error: ${typeof error}`);
  const cause = error.cause === undefined || depth >= MAX_DEPTH ? undefined : copiedError(error.cause, scrub, depth + 1);
  const copy = new Error(scrub(String(error.message)), cause === undefined ? undefined : { cause });
  copy.name = scrub(String(error.name));
  copy.stack = typeof error.stack === 'string' ? scrub(error.stack) : undefined;
  for (const [field, value] of Object.entries(error)) {
    if (field === 'name' || field === 'message' || field === 'stack' || field === 'cause' || field === 'errors') continue;
    if (typeof value === 'string') Object.assign(copy, { [field]: scrub(value) });
    else if (typeof value === 'number' || typeof value === 'boolean') Object.assign(copy, { [field]: value });
  }
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors) && depth < MAX_DEPTH) {
    const inner = errors.map((each) => copiedError(each, scrub, depth + 1));
    Object.defineProperty(copy, 'errors', { value: inner, writable: true, configurable: true });
  }
  return copy;
}
