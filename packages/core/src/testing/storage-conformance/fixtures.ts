// What the storage conformance suite's modules share: owners no other test uses, key changes, and requests to byokit.
import type { ByokitRequest } from '../../http/types.js';
import type { KeyChange } from '../../storage/storage.js';
import { userOwner } from '../../storage/storage.js';

export const bytes = (...values: number[]) => new Uint8Array(values);

let counter = 0;
/** A number no other call in this run gets: for the names, days and years a test keeps to itself. */
export const uniqueNumber = () => ++counter;
/** A user id no other test in this run uses. */
export const freshUser = () => userOwner(`conformance-${Date.now().toString(36)}-${uniqueNumber()}`);

export function setChange(provider: KeyChange['provider'], envelope: Uint8Array, hint = '…abcd', keyId = 'k1'): KeyChange {
  return { action: 'set', provider, envelope, keyId, hint, verification: 'unverified' };
}

export function jsonRequest(method: string, url: string, userId: string, body: unknown): ByokitRequest {
  const bytes = new TextEncoder().encode(JSON.stringify(body));
  return {
    method,
    url,
    headers: { 'content-type': 'application/json' },
    body: { kind: 'stream', stream: [bytes] },
    authenticate: () => ({ userId, isAdmin: false }),
  };
}

/**
 * What `promise` rejected with, or what it resolved with wrapped as `{ resolved }`: for `expect(…, rule)`, whose message
 * vitest drops from `.rejects` when the promise resolves ("promise resolved … instead of rejecting" names no rule).
 */
export const rejectionOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    (resolved) => ({ resolved }),
    (error: unknown) => error,
  );
