// Test helpers: a real Fastify host on a free port, byokit answering chat from the mock providers.
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { createByokit, Keyring, memoryStorage, type Byokit, type Principal } from '@byokit/core';
import { startMockProviders, type MockProviders } from '@byokit/core/testing';
import { byokitPlugin } from './index.js';

export const alice: Principal = { userId: 'alice', isAdmin: false };
/** The host's auth in these tests: `Bearer alice` is alice, anything else nobody. */
export const authenticate = (request: { headers: Record<string, unknown> }) =>
  request.headers.authorization === 'Bearer alice' ? alice : null;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A byokit on memory storage whose providers are the mock ones. */
export async function newByokit(): Promise<{ byokit: Byokit; mock: MockProviders }> {
  const mock = await startMockProviders();
  const byokit = await createByokit({
    storage: memoryStorage(),
    keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: {},
    providers: Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl }])),
  });
  cleanups.push(
    () => mock.close(),
    () => byokit.close(),
  );
  return { byokit, mock };
}

/**
 * A Fastify host with byokit registered below `/v2` as the README shows, beside routes of its own. `setUp`
 * adds what a test needs before byokit is registered; log lines (JSON) are collected in `logLines`.
 */
export async function startFastify(
  byokit: Pick<Byokit, 'handle'>,
  options: { bodyLimit?: number; pluginBodyLimit?: number; setUp?: (app: FastifyInstance) => void } = {},
) {
  const logLines: string[] = [];
  const stream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) });
  const app = Fastify({ logger: { level: 'debug', stream }, ...(options.bodyLimit !== undefined && { bodyLimit: options.bodyLimit }) });
  options.setUp?.(app);
  await app.register(byokitPlugin, {
    byokit,
    authenticate,
    prefix: '/v2',
    ...(options.pluginBodyLimit !== undefined && { bodyLimit: options.pluginBodyLimit }),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, logLines };
}
