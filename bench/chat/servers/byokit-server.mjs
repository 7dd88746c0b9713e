// byokit as a host wires it (examples/express-server/src/app.ts, minus what the benchmark does not need):
// byokit below /v2 on a plain node:http server (`--mount=node`, core's Node handler, the same server stack
// as the floor), in Express (`--mount=express`, byokitRouter), in Fastify (`--mount=fastify`, byokitPlugin
// on Fastify's own server, its logger off), or as core's standard fetch handler (`--mount=fetch`, served by
// @hono/node-server, the usual way to run a fetch handler on Node).
// Memory storage, a keyring made at start, Anthropic pointed at the mock, and the host's auth as a
// bearer-token lookup in a Map (cheap, like a session cache). The user's Anthropic key is set through the
// real PATCH route at start, so chat requests resolve it from encrypted storage and then from byokit's key cache.
//
//   BENCH_TOKEN=… BENCH_ANTHROPIC_KEY=… node byokit-server.mjs --anthropic-base-url URL
//     [--mount=node|express|fastify|fetch] [--storage=memory|postgres] [--metering=on|off] [--budget=off|on]
//
// `--storage=postgres` keeps everything in PostgreSQL (BENCH_DATABASE_URL, schema BENCH_SCHEMA, migrated at
// start); `--metering=off` drops usage records instead of writing them, to measure what metering costs;
// `--budget=on` gives the user a monthly budget too large to reach, so every call holds its worst case first.
//
// Prints {"port":N} once listening on 127.0.0.1 and the key is set.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import express from 'express';
import Fastify from 'fastify';
import { byokitRouter } from '@byokit/adapter-express';
import { byokitPlugin } from '@byokit/adapter-fastify';
import { createByokit, createFetchHandler, Keyring, MAX_BODY_BYTES, memoryStorage } from '@byokit/core';
import { createNodeHandler } from '@byokit/core/node';
import { postgresStorage } from '@byokit/storage-postgres';

/** Each mount: byokit below /v2 on a server listening on a free port of 127.0.0.1; resolves with the node:http server. */
const MOUNTS = {
  node: () => listening(createServer(nodeListener())),
  express: () => listening(createServer(expressApp())),
  fastify: fastifyServer,
  fetch: honoServer,
};

const { values } = parseArgs({
  options: {
    'anthropic-base-url': { type: 'string' },
    mount: { type: 'string', default: 'node' },
    storage: { type: 'string', default: 'memory' },
    metering: { type: 'string', default: 'on' },
    budget: { type: 'string', default: 'off' },
  },
});
const baseUrl = values['anthropic-base-url'];
const { BENCH_TOKEN: token, BENCH_ANTHROPIC_KEY: anthropicKey } = process.env;
const valid =
  Object.hasOwn(MOUNTS, values.mount) &&
  ['memory', 'postgres'].includes(values.storage) &&
  ['on', 'off'].includes(values.metering) &&
  ['on', 'off'].includes(values.budget);
if (!baseUrl || !token || !anthropicKey || !valid) {
  throw new Error(
    'usage: BENCH_TOKEN=… BENCH_ANTHROPIC_KEY=… byokit-server.mjs --anthropic-base-url URL [--mount=node|express|fastify|fetch] [--storage=memory|postgres] [--metering=on|off] [--budget=off|on]',
  );
}

async function openStorage() {
  if (values.storage === 'memory') return memoryStorage();
  const { BENCH_DATABASE_URL: connectionString, BENCH_SCHEMA: schema } = process.env;
  if (!connectionString || !schema) throw new Error('--storage=postgres needs BENCH_DATABASE_URL and BENCH_SCHEMA');
  const storage = postgresStorage({ connectionString, schema });
  await storage.migrate();
  return storage;
}

const opened = await openStorage();
// Metering off: the same storage, with usage records dropped rather than written.
const storage = values.metering === 'on' ? opened : { ...opened, recordUsage: async () => {} };

if (values.budget === 'on')
  await storage.setBudget('bench-user', { monthlyLimitUsd: '1000000000', appliesTo: 'all', updatedAt: new Date() });

const keyring = Keyring.from([{ id: 'bench', key: crypto.getRandomValues(new Uint8Array(32)) }]);
const byokit = await createByokit({
  storage,
  keyring,
  // No system keys from this process's environment: every call resolves the user's own key.
  environment: {},
  // logger left out: byokit's default is silent.
  providers: { anthropic: { baseUrl } },
  // One user stands for every client here, and the memory phase holds 1,000 of its streams open at once: the
  // per-user bound (64 by default) would refuse all but 64 of them.
  concurrentCallsPerUser: 0,
});

const sessions = new Map([[token, { userId: 'bench-user', isAdmin: false }]]);
const principalOf = (header) => (header?.startsWith('Bearer ') ? (sessions.get(header.slice(7)) ?? null) : null);
const authenticate = (request) => principalOf(request.headers.authorization);

function expressApp() {
  const app = express();
  app.disable('x-powered-by');
  app.use('/v2', byokitRouter(byokit, { authenticate }));
  return app;
}

function nodeListener() {
  const byokitRoutes = createNodeHandler(byokit, { authenticate, prefix: '/v2' });
  return async (request, response) => {
    if (!(await byokitRoutes(request, response))) response.writeHead(404).end();
  };
}

async function listening(server) {
  await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return server;
}

async function fastifyServer() {
  const app = Fastify({ logger: false });
  // 2 MiB: byokit's largest route limit (a chat); Fastify's default of 1 MiB would refuse chats the others take.
  await app.register(byokitPlugin, { byokit, authenticate, prefix: '/v2', bodyLimit: MAX_BODY_BYTES });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server;
}

async function honoServer() {
  // Imported here only: serve() replaces the process's global Request and Response with its own lighter
  // ones, which the other mounts should not run with.
  const { serve } = await import('@hono/node-server');
  // A fetch `Request` carries its headers in a `Headers`.
  const byokitFetch = createFetchHandler(byokit, {
    authenticate: (request) => principalOf(request.headers.get('authorization')),
    prefix: '/v2',
  });
  const server = serve({ fetch: byokitFetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve, reject) => server.once('error', reject).once('listening', resolve));
  return server;
}

const server = await MOUNTS[values.mount]();
server.keepAliveTimeout = 60_000;
const origin = `http://127.0.0.1:${server.address().port}`;

const patched = await fetch(`${origin}/v2/users/me/api-key`, {
  method: 'PATCH',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ anthropic_api_key: anthropicKey }),
});
const status = await patched.json();
if (!patched.ok || status.has_anthropic_key !== true)
  throw new Error(`PATCH /v2/users/me/api-key failed: ${patched.status} ${JSON.stringify(status)}`);

process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
// Nothing to flush or release gracefully: the benchmark stops servers mid-stream. Exiting (rather than dying
// of the signal) lets `node --cpu-prof` write its profile.
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
