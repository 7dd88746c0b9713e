import { fieldOf } from '../errors.js';
import { knownSecretScrubber, scrubSecrets } from './scrub-secrets.js';

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
  const scrubKnown = knownSecretScrubber(secret);
  return copiedError(error, (text) => scrubKnown(scrubSecrets(text)));
}

/**
 * An error copied as {@link scrubbedError} copies it, each text passed through `scrub`: its name, message, stack and
 * own text fields, its causes' and an `AggregateError`'s errors'.
 */
export function copiedError(error: unknown, scrub: (text: string) => string, depth = 0): unknown {
  if (error === undefined || error === null || typeof error === 'number' || typeof error === 'boolean') return error;
  if (!isError(error)) return typeof error === 'string' ? scrub(error) : new Error(`not an Error: ${typeof error}`);
  // Every read is guarded: the error is the host's or a library's, and a field may be a getter that throws (a lazy
  // `response`, a `cause` not loaded). A copy that threw would fail what logs it: the answer, or the process itself
  // where it runs outside a request (a usage listener, a hold's renewal).
  const read = (field: string): unknown => fieldOf(error, field);
  const text = (value: unknown): string => {
    try {
      return scrub(String(value));
    } catch {
      return '';
    }
  };
  const original = read('cause');
  const cause = original === undefined || depth >= MAX_DEPTH ? undefined : copiedError(original, scrub, depth + 1);
  const copy = new Error(text(read('message')), cause === undefined ? undefined : { cause });
  copy.name = text(read('name'));
  const stack = read('stack');
  copy.stack = typeof stack === 'string' ? scrub(stack) : undefined;
  let fields: string[] = [];
  try {
    fields = Object.keys(error);
  } catch {
    // A proxy that refuses to list its fields: the copy has none.
  }
  for (const field of fields) {
    if (field === 'name' || field === 'message' || field === 'stack' || field === 'cause' || field === 'errors') continue;
    const value = read(field);
    if (typeof value === 'string') Object.assign(copy, { [field]: scrub(value) });
    else if (typeof value === 'number' || typeof value === 'boolean') Object.assign(copy, { [field]: value });
  }
  try {
    const errors = read('errors');
    if (Array.isArray(errors) && depth < MAX_DEPTH) {
      const inner = errors.map((each) => copiedError(each, scrub, depth + 1));
      Object.defineProperty(copy, 'errors', { value: inner, writable: true, configurable: true });
    }
  } catch {
    // A list that cannot be read (a revoked proxy, whose `Array.isArray` throws, or one whose items do): the copy has none.
  }
  return copy;
}

/** Whether `value` is an Error; false for a proxy whose prototype cannot be read (a revoked one). */
function isError(value: unknown): value is Error {
  try {
    return value instanceof Error;
  } catch {
    return false;
  }
}
