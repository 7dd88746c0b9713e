// Helpers for core's own tests: build framework-free requests without an HTTP server.
import { createByokit, type ByokitOptions } from '../byokit.js';
import { Keyring } from '../crypto/keyring.js';
import { memoryStorage } from '../storage/memory-storage.js';
import type { ByokitRequest, Principal } from './types.js';
import type { Byokit } from '../byokit.js';

export const alice: Principal = { userId: 'user-alice', isAdmin: false };
export const bob: Principal = { userId: 'user-bob', isAdmin: false };
export const admin: Principal = { userId: 'user-admin', isAdmin: true };

/** A keyring of fresh random keys. */
export function testKeyring(...ids: string[]): Keyring {
  return Keyring.from((ids.length ? ids : ['k1']).map((id) => ({ id, key: crypto.getRandomValues(new Uint8Array(32)) })));
}

/** A byokit on memory storage with an empty environment unless told otherwise. */
export async function testByokit(options: Partial<ByokitOptions> = {}) {
  const storage = options.storage ?? memoryStorage();
  const byokit = await createByokit({ keyring: testKeyring(), environment: {}, ...options, storage });
  return { byokit, storage };
}

export interface CallOptions {
  principal?: Principal | null;
  body?: unknown;
  /** Raw body text, sent as is. */
  rawBody?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Calls byokit as an adapter would; JSON-encodes `body` unless `rawBody` is given. */
export async function call(byokit: Byokit, method: string, url: string, options: CallOptions = {}) {
  const raw = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const bytes = typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
  const headers: Record<string, string> = { ...options.headers };
  if (bytes) headers['content-type'] = options.contentType ?? 'application/json';
  const request: ByokitRequest = {
    method,
    url,
    headers,
    body: bytes
      ? {
          kind: 'stream',
          stream: (async function* () {
            yield bytes;
          })(),
        }
      : { kind: 'none' },
    authenticate: () => (options.principal === undefined ? null : options.principal),
  };
  const response = await byokit.handle(request);
  if (!response) return undefined;
  const text = typeof response.body === 'string' ? response.body : '';
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
}
