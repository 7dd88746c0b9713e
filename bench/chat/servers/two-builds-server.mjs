// Two builds of @byokit/core in one process, for compare-builds.mjs: each its own byokit (memory storage, the
// user's Anthropic key set through the PATCH route) behind core's Node handler, at /<name>/v2 on one node:http
// server. One process, so both run on the same heap, CPU and luck: what differs between them is the build.
//
//   BENCH_TOKEN=… BENCH_ANTHROPIC_KEY=… node two-builds-server.mjs --anthropic-base-url URL --build name=DIST_DIR --build name=DIST_DIR
//
// Prints {"port":N} once listening on 127.0.0.1 and both keys are set.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'anthropic-base-url': { type: 'string' }, build: { type: 'string', multiple: true } } });
const { BENCH_TOKEN: token, BENCH_ANTHROPIC_KEY: anthropicKey } = process.env;
const builds = (values.build ?? []).map((spec) => spec.split('='));
if (!values['anthropic-base-url'] || !token || !anthropicKey || builds.length !== 2) {
  throw new Error('usage: BENCH_TOKEN=… BENCH_ANTHROPIC_KEY=… two-builds-server.mjs --anthropic-base-url URL --build a=DIR --build b=DIR');
}

const sessions = new Map([[token, { userId: 'bench-user', isAdmin: false }]]);
const authenticate = (request) => {
  const header = request.headers.authorization;
  return header?.startsWith('Bearer ') ? (sessions.get(header.slice(7)) ?? null) : null;
};

// Each build's handler by its name, the first segment of the path: a request goes straight to its build's, so
// that neither build pays for asking the other first.
const handlers = new Map();
for (const [name, directory] of builds) {
  const { createByokit, Keyring, memoryStorage } = await import(pathToFileURL(`${directory}/index.js`).href);
  const { createNodeHandler } = await import(pathToFileURL(`${directory}/node/index.js`).href);
  const byokit = await createByokit({
    storage: memoryStorage(),
    keyring: Keyring.from([{ id: 'bench', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: {},
    providers: { anthropic: { baseUrl: values['anthropic-base-url'] } },
  });
  handlers.set(name, createNodeHandler(byokit, { authenticate, prefix: `/${name}/v2` }));
}

const server = createServer(async (request, response) => {
  const handler = handlers.get(request.url.split('/', 2)[1]);
  if (!handler || !(await handler(request, response))) response.writeHead(404).end();
});
server.keepAliveTimeout = 60_000;
await new Promise((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;
for (const [name] of builds) {
  const patched = await fetch(`${origin}/${name}/v2/users/me/api-key`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ anthropic_api_key: anthropicKey }),
  });
  if (!patched.ok) throw new Error(`PATCH /${name}/v2/users/me/api-key failed: ${patched.status}`);
}
process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
