import type { Byokit } from '../byokit.js';
import { isSettingsObject, kindOfOption } from '../host-option-checks.js';

/**
 * For adapters: the byokit instance a mount answers for, checked where the mount is made. The usual slip in plain
 * JavaScript is createByokit()'s promise, not awaited: every request would then fail (`byokit.handle is not a
 * function`), as a 500 or a rejection the host's server may not catch.
 *
 * @param mount The mount's name for the message (`createNodeHandler`), and with `setting`, its option's name.
 * @throws TypeError when `value` has no `handle` method.
 */
export function byokitOption(value: unknown, mount: string, { setting = false } = {}): Pick<Byokit, 'handle'> {
  if (typeof (value as Partial<Byokit> | null | undefined)?.handle !== 'function') {
    const hint = value instanceof Promise ? ': await createByokit(…) first' : '';
    const needed = setting ? '`byokit`, the instance' : 'the byokit instance';
    throw new TypeError(`${mount} needs ${needed} createByokit() resolves to; got ${kindOfOption(value)}${hint}`);
  }
  return value as Pick<Byokit, 'handle'>;
}

/**
 * For adapters: a mount's settings object, checked before any of them is read (as `isSettingsObject` checks
 * createByokit's): left out in plain JavaScript, the mount failed with "Cannot read properties of undefined".
 *
 * @param shape The settings the mount takes, for the message: `{ authenticate, prefix? }`.
 * @throws TypeError when `value` is not a settings object.
 */
export function mountSettings(value: unknown, mount: string, shape: string): void {
  if (!isSettingsObject(value)) throw new TypeError(`${mount} needs its settings, ${shape}; got ${kindOfOption(value)}`);
}
