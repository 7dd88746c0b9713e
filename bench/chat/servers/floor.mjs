// The floor: a bare node:http byte pass-through proxy, the least any proxy between a client and a provider
// can do. Every request's method, path, headers and body bytes go to the upstream over a keep-alive agent;
// the answer's status, headers and body bytes come back piped. Nothing is parsed beyond HTTP framing.
//
//   node floor.mjs --upstream http://127.0.0.1:PORT   → prints {"port":N} once listening on 127.0.0.1
import { Agent, createServer, request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
if (!values.upstream) throw new Error('usage: floor.mjs --upstream http://127.0.0.1:PORT');
const upstream = new URL(values.upstream);
// `timeout` makes Node 20's agent heed the upstream's `Keep-Alive: timeout=N`, letting an idle connection go before
// the upstream closes it, as undici does for byokit; without it, a burst after a stall reuses connections the mock
// is closing, and they fail with ECONNRESET (a 502 here).
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, timeout: 60_000 });
// Hop-by-hop headers (RFC 9110 §7.6.1) belong to each connection, not to the message: not forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

function forwardable(headers) {
  const kept = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) kept[name] = headers[name];
  return kept;
}

const server = createServer((incoming, outgoing) => {
  const call = httpRequest(
    {
      agent,
      host: upstream.hostname,
      port: upstream.port,
      method: incoming.method,
      path: incoming.url,
      headers: forwardable(incoming.headers),
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(outgoing);
    },
  );
  let clientGone = false;
  call.on('error', (error) => {
    // Said on stderr, which the benchmark shows when a target's requests fail; not when the client left first.
    if (!clientGone) {
      const connection = call.reusedSocket ? 'a reused keep-alive connection' : 'a new connection';
      process.stderr.write(`floor: the upstream call failed on ${connection}: ${error.code ?? error.message}\n`);
    }
    if (!outgoing.headersSent) outgoing.writeHead(502).end();
    else outgoing.destroy();
  });
  // The client went away mid-answer: drop the upstream request too, as any proxy must.
  outgoing.on('close', () => {
    if (outgoing.writableFinished) return;
    clientGone = true;
    call.destroy();
  });
  incoming.pipe(call);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, upstream: upstream.origin })}\n`);
});
// Nothing to flush or release gracefully: the benchmark stops servers mid-stream. Exiting (rather than dying
// of the signal) lets `node --cpu-prof` write its profile.
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
