// Did a change to @byokit/core make the chat path faster at low load? Two builds of core in one server process
// (servers/two-builds-server.mjs), measured in alternating rounds of the open loop (500 plain chat requests/s)
// and, where `perf` can trace syscalls, cut into the critical path's steps (syscall-timeline.mjs). One process,
// because two processes of the same build differ by ±20 µs at this load (heap layout, CPU, JIT), more than
// most single changes make; in one process, the same build twice differs by less (docs/performance.md).
//
//   npm run build && node bench/chat/compare-builds.mjs save before     keeps packages/core/dist as bench/.builds/before
//   (change core; npm run build)
//   node bench/chat/compare-builds.mjs before [--rounds=10]            the saved build against the current one
//
// The first rounds favour whichever build warmed up last; read the later ones.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fakeProviderKey } from '@byokit/core/testing';
import { ChildProcesses } from './processes.mjs';
import { canTraceSyscalls, traceOpenLoop } from './syscall-timeline.mjs';
import { requestFor } from './targets.mjs';
import { findWrk, writeLuaScript } from './wrk.mjs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { rounds: { type: 'string', default: '10' } } });
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
// Inside the repository, so that a saved build's imports (undici, zod) resolve from its node_modules.
const BUILDS = here('../.builds');
const CURRENT = fileURLToPath(new URL('.', import.meta.resolve('@byokit/core')));

if (positionals[0] === 'save' && positionals[1]) {
  const target = join(BUILDS, positionals[1]);
  rmSync(target, { recursive: true, force: true });
  cpSync(CURRENT, join(target, 'dist'), { recursive: true });
  console.log(`saved ${CURRENT} as ${target}/dist`);
  process.exit(0);
}
const saved = positionals[0] && join(BUILDS, positionals[0], 'dist');
if (!saved || !existsSync(saved)) {
  console.error('usage: compare-builds.mjs save NAME | compare-builds.mjs NAME [--rounds=N] (NAME saved before)');
  process.exit(1);
}

const ROUNDS = Number(values.rounds);
const LOAD = { mode: 'open-loop', rate: 500, durationMs: 2500, warmupMs: 300 };
const BUILD_NAMES = { saved: positionals[0], current: 'current' };
const node = process.execPath;
const traced = canTraceSyscalls();
const processes = new ChildProcesses();
const scratch = mkdtempSync(join(tmpdir(), 'byokit-compare-builds-'));
try {
  const secrets = { token: 'compare-builds-token', anthropicKey: fakeProviderKey('anthropic') };
  const mockCli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));
  const mock = await processes.start(node, [mockCli, '--port', '0'], { label: 'mock providers' });
  const server = await processes.start(
    node,
    [
      here('./servers/two-builds-server.mjs'),
      '--anthropic-base-url',
      mock.info.anthropic,
      '--build',
      `saved=${saved}`,
      '--build',
      `current=${CURRENT}`,
    ],
    { env: { BENCH_TOKEN: secrets.token, BENCH_ANTHROPIC_KEY: secrets.anthropicKey }, label: 'two-builds server' },
  );
  const request = requestFor('byokit', { ...secrets, stream: false });
  const urlOf = (build) => `http://127.0.0.1:${server.info.port}/${build}${request.path}`;
  const specOf = (build) => ({ ...LOAD, url: urlOf(build), headers: request.headers, body: request.body });

  // Warm-up under load, as the benchmark's throughput runs leave a server: the JIT, the connections.
  const wrk = findWrk();
  for (const build of Object.keys(BUILD_NAMES)) {
    if (wrk)
      await processes.run(wrk, ['-t2', '-c50', '-d4s', '-s', writeLuaScript(scratch, build, request), urlOf(build)], { label: 'wrk' });
    else
      await processes.run(node, [
        here('./hrtime-client.mjs'),
        JSON.stringify({ ...specOf(build), mode: 'closed-loop', connections: 50, durationMs: 4000 }),
      ]);
  }

  const rows = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? ['saved', 'current'] : ['current', 'saved'];
    const row = { round: round + 1 };
    for (const build of order) {
      const result = traced
        ? await traceOpenLoop(specOf(build), {
            serverPid: server.child.pid,
            mockPid: mock.child.pid,
            dataFile: join(scratch, `${build}-${round}.data`),
          })
        : { clientP50: JSON.parse(await processes.run(node, [here('./hrtime-client.mjs'), JSON.stringify(specOf(build))])).latency.p50 };
      row[build] = result;
    }
    rows.push(row);
  }

  const measures = [['client p50', (result) => result.clientP50]];
  if (traced) {
    measures.push(
      ['request in → call written', (result) => result.steps[1]],
      ['answer in → response written', (result) => result.steps[5]],
      ['whole chain', (result) => result.steps[7]],
    );
  }
  console.log(`\n${BUILD_NAMES.saved} (saved) against the current build, ${ROUNDS} alternating rounds at ${LOAD.rate} requests/s: µs`);
  console.table(
    measures.map(([label, pick]) => {
      const saved = rows.map((row) => pick(row.saved));
      const current = rows.map((row) => pick(row.current));
      return {
        measure: label,
        [BUILD_NAMES.saved]: median(saved).toFixed(0),
        current: median(current).toFixed(0),
        'current − saved, median': median(current.map((value, index) => value - saved[index])).toFixed(0),
        'current − saved, each round': current.map((value, index) => (value - saved[index]).toFixed(0)).join(' '),
      };
    }),
  );
  if (!traced) console.log('(perf cannot trace syscalls here: only the client p50 is compared.)');
} finally {
  await processes.stopAll();
  rmSync(scratch, { recursive: true, force: true });
}

function median(values) {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}
