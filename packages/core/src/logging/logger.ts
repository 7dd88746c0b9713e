import { copiedError } from '../keys/scrubbed-error.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';

/** A log method with pino's signature: a merge object, then a message. */
export type LogMethod = (object: Record<string, unknown>, message: string) => void;

/**
 * The logger byokit writes to, with pino's interface (a pino logger fits as is). byokit logs no key and
 * no piece of one, at any level. A line about a request carries its `requestId` (the answer's `x-request-id`); an
 * error it logs is under `err`, pino's convention, as a copy scrubbed of anything that looks like a key. Every line
 * it writes is listed in the project's docs/http-api.md, "Log lines".
 */
export interface Logger {
  /** Each request answered (its status and `durationMs`), and what failed because a client went away. */
  debug: LogMethod;
  /** A master key rotation run's result. */
  info: LogMethod;
  /** Something the host should fix but byokit works around, e.g. a system key variable holding a placeholder. */
  warn: LogMethod;
  /**
   * A failure byokit answered with a 5xx, a stored key that does not open (`400 key_unreadable`) or the system key
   * refused by its provider (`400 provider_key_rejected`); or one a caller never sees (a usage listener, a rate limiter).
   */
  error: LogMethod;
  /**
   * Whether a level is written at all (pino's own method): byokit skips building a line nobody writes, such
   * as the debug line of every request. Without it, every level counts as written.
   */
  isLevelEnabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

const ignore: LogMethod = () => {};

/** The default: log nothing. */
export const silentLogger: Logger = Object.freeze({
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  isLevelEnabled: () => false,
});

/**
 * The logger for a request's failure: `logger` itself while the client is there; once it went away (the request's
 * signal aborted), every line at debug level, marked `clientGone`. What failed then (the body cut short, the
 * provider call aborted) is the departure itself, not a fault to alert on, and any client could multiply it.
 */
export function failureLogger(logger: Logger, signal: { readonly aborted: boolean } | undefined): Logger {
  if (!signal?.aborted) return logger;
  const debug: LogMethod = (object, message) => logger.debug({ ...object, clientGone: true }, message);
  return { debug, info: debug, warn: debug, error: debug, isLevelEnabled: () => logger.isLevelEnabled?.('debug') ?? true };
}

/** What a log message must not hold raw: C0 and C1 controls (CR, LF, ESC…), DEL, line and paragraph separators, bidi controls. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text a request gave (an admin's display name), as it may go into a log message: each control character written
 * as an escape (`\r`, `\n`, `\u001b`), so that it cannot end the line and forge another one, nor restyle or clear
 * the terminal of whoever reads the log, nor reverse what follows it. A logger escapes its fields, but a plain-text
 * or pretty-printing one writes the message as it is.
 */
export function loggableText(text: string): string {
  return text.replace(
    UNPRINTABLE,
    (character) => SHORT_ESCAPES[character] ?? `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * An error as a log line carries it: under `err`, pino's convention, whose serialiser writes its type, its message
 * and stack with every cause's, and its own fields (`code`, `errno`, `port`…). A copy ({@link copiedError}) whose
 * texts are scrubbed of anything that looks like a key, and then by `clean` when given (the rate limiter's user id):
 * the error may come from the host or from below byokit and quote what it was given. Keys go first, while whole:
 * cleaned first, a short user id ("1") found inside a key cut it into pieces no key pattern knew. A logger that writes its fields
 * with `JSON.stringify` rather than pino's serialiser gets the same (`{ type, message, stack, …fields, cause }`)
 * through the copy's `toJSON`, where an Error would be written `{}`.
 */
export function loggableError(error: unknown, clean: (text: string) => string = (text) => text): unknown {
  return withJson(copiedError(error, (text) => clean(scrubSecrets(text))));
}

function withJson(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  withJson(error.cause);
  const errors = (error as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const each of errors) withJson(each);
  Object.defineProperty(error, 'toJSON', { value: errorJson, writable: true, configurable: true });
  return error;
}

function errorJson(this: Error): Record<string, unknown> {
  const errors = (this as { errors?: unknown }).errors;
  return {
    type: this.name,
    message: this.message,
    stack: this.stack,
    ...Object.fromEntries(Object.entries(this)),
    ...(this.cause !== undefined && { cause: this.cause }),
    ...(Array.isArray(errors) && { aggregateErrors: errors }),
  };
}
