// Did a change to @byokit/core make the chat path faster at low load? Two builds of core in one server process
// (servers/two-builds-server.mjs). One process, because two processes of the same build differ by ±20 µs at
// this load (heap layout, CPU, JIT), more than most single changes make.
//
// By default each round is one open loop whose requests alternate between the builds (500 plain chat
// requests/s, or 200 streams/s with --stream): the host's noise, which moves a round's p50 by hundreds of µs
// on a busy day, falls on both builds alike, and the difference is taken round by round. With --trace, the
// builds take turns a round each instead, and each round is cut into the critical path's steps by perf's
// syscall tracepoints (syscall-timeline.mjs; root): slower to settle, but it says where the time went.
//
//   npm run build && node bench/chat/compare-builds.mjs save before     keeps packages/core/dist as bench/.builds/before
//   (change core; npm run build)
//   node bench/chat/compare-builds.mjs before [--rounds=10] [--stream [--gap-ms=N]] [--trace]   the saved build against the current one
//
// --gap-ms sets the mock's pause between a stream's events (default 0: the whole answer in one write), as the
// benchmark's first-byte phases do at 0, 2 and 20 ms.
//
// Save the current build under a second name and compare it with itself first: on 2026-12-03 such runs put
// the current build 32–48 µs behind its own copy (4 runs of 16 rounds; cause not found; the median of an even
// number of rounds was then the upper of the two middle ones, which leans that way). Read a change's difference
// against that.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fakeProviderKey } from '@byokit/core/testing';
import { median } from '../measure.mjs';
import { ChildProcesses } from './processes.mjs';
import { canTraceSyscalls, traceOpenLoop } from './syscall-timeline.mjs';
import { requestFor } from './targets.mjs';
import { findWrk, writeLuaScript } from './wrk.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '10' },
    stream: { type: 'boolean' },
    'gap-ms': { type: 'string', default: '0' },
    trace: { type: 'boolean' },
  },
});
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
const STREAM = values.stream === true;
const GAP_MS = Number(values['gap-ms']);
if (!Number.isInteger(GAP_MS) || GAP_MS < 0) {
  console.error(`--gap-ms takes a whole number of milliseconds, got ${values['gap-ms']}`);
  process.exit(1);
}
const LOAD = { mode: 'open-loop', rate: STREAM ? 200 : 500, durationMs: STREAM ? 3000 : 2500, warmupMs: 300 };
const BUILD_NAMES = { saved: positionals[0], current: 'current' };
const node = process.execPath;
const traced = values.trace === true && !STREAM && canTraceSyscalls();
if (values.trace && !traced)
  console.log('(--trace needs perf with syscall tracepoints and plain requests: the builds alternate request by request instead.)');
const processes = new ChildProcesses();
const scratch = mkdtempSync(join(tmpdir(), 'byokit-compare-builds-'));
try {
  const secrets = { token: 'compare-builds-token', anthropicKey: fakeProviderKey('anthropic') };
  const mockCli = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));
  const mock = await processes.start(node, [mockCli, '--port', '0', '--gap-ms', String(GAP_MS)], { label: 'mock providers' });
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
  const request = requestFor('byokit', { ...secrets, stream: STREAM });
  const urlOf = (build) => `http://127.0.0.1:${server.info.port}/${build}${request.path}`;
  const targetOf = (build) => ({ url: urlOf(build), headers: request.headers, body: request.body, tokenMarker: request.tokenMarker });
  const specOf = (build) => ({ ...LOAD, ...targetOf(build) });

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
    // Which build goes first alternates too.
    const order = round % 2 === 0 ? ['saved', 'current'] : ['current', 'saved'];
    rows.push(traced ? await tracedRound(order, round) : await alternatingRound(order));
  }

  /** One open loop, its requests alternating between the builds. */
  async function alternatingRound(order) {
    const spec = { ...LOAD, alternate: order.map(targetOf) };
    const output = JSON.parse(await processes.run(node, [here('./hrtime-client.mjs'), JSON.stringify(spec)]));
    if (output.failed > 0) throw new Error(`${output.failed} of ${output.sent} requests failed (${output.statuses.join(', ')})`);
    return Object.fromEntries(
      order.map((build, index) => {
        const { latency, firstByte, firstToken } = output.byUrl[index];
        return [build, { clientP50: latency.p50, firstByte: firstByte.p50, firstToken: firstToken?.p50 }];
      }),
    );
  }

  /** One traced open loop per build, one after the other. */
  async function tracedRound(order, round) {
    const row = {};
    for (const build of order) {
      row[build] = await traceOpenLoop(specOf(build), {
        serverPid: server.child.pid,
        mockPid: mock.child.pid,
        dataFile: join(scratch, `${build}-${round}.data`),
      });
    }
    return row;
  }

  const measures = [[STREAM ? 'client p50, whole stream' : 'client p50', (result) => result.clientP50]];
  if (STREAM) measures.push(['first byte p50', (result) => result.firstByte], ['first token p50', (result) => result.firstToken]);
  if (traced) {
    measures.push(
      ['request in → call written', (result) => result.steps[1]],
      ['answer in → response written', (result) => result.steps[5]],
      ['whole chain', (result) => result.steps[7]],
    );
  }
  const how = traced ? 'rounds taking turns' : 'rounds of requests alternating between the builds';
  console.log(
    `\n${BUILD_NAMES.saved} (saved) against the current build, ${ROUNDS} ${how}, ${LOAD.rate} ${STREAM ? `streams/s, mock gap ${GAP_MS} ms` : 'requests/s'}: µs`,
  );
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
} finally {
  await processes.stopAll();
  rmSync(scratch, { recursive: true, force: true });
}
