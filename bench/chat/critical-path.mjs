// Where a request's added latency sits: the critical path of one plain chat request (client → server → mock →
// server → client), cut at each process's wake-up and write, for the floor and for byokit (core's Node
// handler). The medians say which side of the provider call byokit's time is on, and which steps (the
// kernel's wake-ups, the mock) are the same for every server. A diagnostic beside the benchmark, not part of
// `npm run bench`: it needs Linux `perf` with syscall tracepoints (syscall-timeline.mjs says how it works).
//
//   npm run build && node bench/chat/critical-path.mjs [--rounds=3]      (about 30 s)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fakeProviderKey } from '@byokit/core/testing';
import { ChildProcesses } from './processes.mjs';
import { canTraceSyscalls, STEPS, traceOpenLoop } from './syscall-timeline.mjs';
import { requestFor } from './targets.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const ROUNDS = Number(values.rounds);
const LOAD = { mode: 'open-loop', rate: 500, durationMs: 3000, warmupMs: 300 };

const node = process.execPath;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const MOCK_CLI = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));

if (!canTraceSyscalls()) {
  console.error('critical-path.mjs needs Linux perf with syscall tracepoints (run as root); not measured.');
  process.exit(1);
}

const processes = new ChildProcesses();
const scratch = mkdtempSync(join(tmpdir(), 'byokit-critical-path-'));
try {
  const secrets = { token: 'critical-path-token', anthropicKey: fakeProviderKey('anthropic') };
  const mock = await processes.start(node, [MOCK_CLI, '--port', '0'], { label: 'mock providers' });
  const upstream = mock.info.anthropic;
  const servers = {
    floor: await processes.start(node, [here('./servers/floor.mjs'), '--upstream', upstream], { label: 'floor server' }),
    byokit: await processes.start(node, [here('./servers/byokit-server.mjs'), '--anthropic-base-url', upstream, '--mount=node'], {
      env: { BENCH_TOKEN: secrets.token, BENCH_ANTHROPIC_KEY: secrets.anthropicKey },
      label: 'byokit server',
    }),
  };
  const specFor = (target) => {
    const request = requestFor(target === 'floor' ? 'direct' : 'byokit', { ...secrets, stream: false });
    return { ...LOAD, url: `http://127.0.0.1:${servers[target].info.port}${request.path}`, headers: request.headers, body: request.body };
  };
  // Warm-up: the JIT and the keep-alive connections.
  for (const target of Object.keys(servers)) await processes.run(node, [here('./hrtime-client.mjs'), JSON.stringify(specFor(target))]);

  const results = { floor: [], byokit: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of Object.keys(results)) {
      const ids = { serverPid: servers[target].child.pid, mockPid: mock.child.pid, dataFile: join(scratch, `${target}-${round}.data`) };
      results[target].push(await traceOpenLoop(specFor(target), ids));
    }
  }
  console.log(`\nCritical path of a plain chat request at ${LOAD.rate} requests/s: median µs of each step, per round`);
  console.table(
    STEPS.map((step, index) => ({
      step,
      ...Object.fromEntries(
        Object.entries(results).map(([target, rounds]) => [target, rounds.map((round) => round.steps[index].toFixed(0)).join(' / ')]),
      ),
    })),
  );
  for (const [target, rounds] of Object.entries(results)) {
    const p50s = rounds.map((round) => round.clientP50.toFixed(0)).join(' / ');
    console.log(
      `${target}: the client's p50 ${p50s} µs; whole chains ${rounds.map((round) => `${round.chains} of ${round.sent}`).join(', ')}`,
    );
  }
} finally {
  await processes.stopAll();
  rmSync(scratch, { recursive: true, force: true });
}
