// byokit as a host wires it (examples/express-server/src/app.ts, minus what the benchmark does not need):
// Express, byokitRouter below /v2, memory storage, a keyring made at start, Anthropic pointed at the mock,
// and the host's auth as a bearer-token lookup in a Map (cheap, like a session cache). The user's Anthropic
// key is set through the real PATCH route at start, so chat requests resolve it from encrypted storage
// and then from byokit's key cache.
//
//   BENCH_TOKEN=… BENCH_ANTHROPIC_KEY=… node byokit-server.mjs --anthropic-base-url URL [--fetch=undici]
//
// Prints {"port":N,"fetch":"global"|"undici"} once listening on 127.0.0.1 and the key is set.
import { parseArgs } from 'node:util';
import express from 'express';
import { byokitRouter } from '@byokit/adapter-express';
import { createByokit, Keyring, memoryStorage } from '@byokit/core';

const { values } = parseArgs({ options: { 'anthropic-base-url': { type: 'string' }, fetch: { type: 'string', default: 'global' } } });
const baseUrl = values['anthropic-base-url'];
const { BENCH_TOKEN: token, BENCH_ANTHROPIC_KEY: anthropicKey } = process.env;
if (!baseUrl || !token || !anthropicKey || !['global', 'undici'].includes(values.fetch)) {
  throw new Error('usage: BENCH_TOKEN=… BENCH_ANTHROPIC_KEY=… byokit-server.mjs --anthropic-base-url URL [--fetch=global|undici]');
}

/**
 * undici's own fetch over a keep-alive Agent. ky (byokit's HTTP client) calls a custom fetch with a
 * `Request` of Node's bundled undici, which undici's fetch from npm refuses as a foreign class; so the
 * request is handed over as URL + init, with the body as bytes so that it keeps its Content-Length.
 */
async function undiciFetch() {
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000 });
  return async (input, init) => {
    if (!(input instanceof Request)) return fetch(input, { ...init, dispatcher });
    const body = input.body === null ? undefined : await input.arrayBuffer();
    return fetch(input.url, {
      method: input.method,
      headers: input.headers,
      body,
      signal: input.signal,
      redirect: input.redirect,
      ...init,
      dispatcher,
    });
  };
}

const keyring = Keyring.from([{ id: 'bench', key: crypto.getRandomValues(new Uint8Array(32)) }]);
const byokit = await createByokit({
  storage: memoryStorage(),
  keyring,
  // No system keys from this process's environment: every call resolves the user's own key.
  environment: {},
  // logger left out: byokit's default is silent.
  providers: { anthropic: { baseUrl, ...(values.fetch === 'undici' && { fetch: await undiciFetch() }) } },
});

const sessions = new Map([[token, { userId: 'bench-user', isAdmin: false }]]);
const authenticate = (request) => {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? (sessions.get(header.slice(7)) ?? null) : null;
};

const app = express();
app.disable('x-powered-by');
app.use('/v2', byokitRouter(byokit, { authenticate }));

const server = await new Promise((resolve, reject) => {
  const listening = app.listen(0, '127.0.0.1', (error) => (error ? reject(error) : resolve(listening)));
});
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

process.stdout.write(`${JSON.stringify({ port: server.address().port, fetch: values.fetch })}\n`);
// Nothing to flush or release gracefully: the benchmark stops servers mid-stream. Exiting (rather than dying
// of the signal) lets `node --cpu-prof` write its profile.
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
