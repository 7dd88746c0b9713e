import { scrubSecrets } from '../keys/scrub-secrets.js';
import { loggableText, type Logger, type LogMethod } from './logger.js';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/**
 * The host's logger as byokit writes to it: a line the logger fails to write (a method that throws, or one that
 * returns a promise that rejects) is dropped, and the first such failure is said once, as a process warning. A
 * logger is the host's code, and may fail (a hand-written one whose `JSON.stringify` meets what it cannot write, a
 * transport whose stream has closed). Its throw went where byokit wrote the line: a request's debug line or a
 * retired model's warning turned the answer into a rejected `handle()` (the host's own 500, or none); off a
 * request, a usage record's failure line stopped every later record from being written (the writer stuck on its
 * rejected promise, `close()` rejecting), and a usage listener's failure line was an unhandled rejection, which
 * ends a Node process by default. Each method is read at each call: pino puts a no-op in place of a level turned off.
 */
export function guardedLogger(host: Logger): Logger {
  let told = false;
  const failed = (error: unknown) => {
    if (told) return;
    told = true;
    tellOnce(error);
  };
  const method =
    (level: (typeof LEVELS)[number]): LogMethod =>
    (fields, message) => {
      try {
        const written: unknown = host[level](fields, message);
        if (isThenable(written)) written.then(undefined, failed);
      } catch (error) {
        failed(error);
      }
    };
  return {
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    isLevelEnabled: (level) => {
      try {
        return host.isLevelEnabled?.(level) ?? true;
      } catch (error) {
        // Written, then: the method's own failure, if any, is caught as any other.
        failed(error);
        return true;
      }
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The logger's failure, where an operator still sees it: Node's warnings (stderr by default), else the console. */
function tellOnce(error: unknown): void {
  let reason: string;
  try {
    reason = loggableText(scrubSecrets(error instanceof Error ? `${error.name}: ${error.message}` : String(error)));
  } catch {
    reason = 'a failure that could not be read';
  }
  const message =
    `byokit's logger failed to write a line (${reason}): byokit dropped that line and goes on, and will drop any other ` +
    'line the logger fails to write without saying so again. Fix the logger given to createByokit.';
  const emitWarning = globalThis.process?.emitWarning;
  if (typeof emitWarning === 'function') emitWarning.call(globalThis.process, message, { code: 'BYOKIT_LOGGER_FAILED' });
  else globalThis.console?.warn(message);
}
