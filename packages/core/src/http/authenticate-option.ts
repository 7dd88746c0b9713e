import type { Authenticate } from './types.js';

/**
 * For adapters: the host's `authenticate`, checked where a mount is made. Left out (plain JavaScript, a typo such
 * as `authenticat`), every request would reach byokit and be answered `500 internal_error`, and with the default
 * silent logger nothing would say why.
 *
 * @throws TypeError when `value` is not a function.
 */
export function authenticateOption<Request>(value: unknown): Authenticate<Request> {
  if (typeof value !== 'function') {
    throw new TypeError(
      `byokit: \`authenticate\` must be your auth function, (request) => { userId, isAdmin } or null (or a promise of it); got ${value === null ? 'null' : typeof value}`,
    );
  }
  return value as Authenticate<Request>;
}
