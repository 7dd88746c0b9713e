/** A log method with pino's signature: a merge object, then a message. */
export type LogMethod = (object: Record<string, unknown>, message: string) => void;

/**
 * The logger byokit writes to, with pino's interface (a pino logger fits as is). byokit logs no key and
 * no piece of one, at any level.
 */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
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
