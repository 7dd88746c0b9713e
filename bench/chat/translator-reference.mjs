// byokit against two floors: the benchmark's byte pass-through (servers/floor.mjs) and a bare translating proxy
// (servers/translator.mjs: the guide's body in, Anthropic's API out, the contract's chunks back, on undici, with
// nothing of byokit's). The goals hold byokit to the first; the second says how much of byokit's added time any
// proxy that translates between the two APIs has too, and so how much is byokit's own (authentication, validation,
// keys, limits, budget, metering, the layers between them). A diagnostic beside the benchmark, not part of
// `npm run bench`: the same processes, warm-up, open loops and slice orders as the chat benchmark (index.mjs), on
// fewer targets and shorter rounds. Added = a target's p50 less the direct calls' of the same round.
//
//   npm run build && node bench/chat/translator-reference.mjs [--rounds=3]      (about 3 minutes)
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { fakeProviderKey } from '@byokit/core/testing';
import { median } from '../measure.mjs';
import { runClient } from './load.mjs';
import { ChildProcesses, stealSince, cpuTimes } from './processes.mjs';
import { cyclicOrder, sliceOrder } from './slice-order.mjs';
import { requestFor } from './targets.mjs';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const ROUNDS = Number(values.rounds);
const TARGETS = ['direct', 'floor', 'translator', 'byokit'];
// As index.mjs: plain requests at 500 a second in 0.5 s slices, streams at 200 a second in 0.25 s slices.
const PLAIN = { rate: 500, sliceMs: 500, durationMs: 2500 };
const STREAMED = { rate: 200, sliceMs: 250, durationMs: 2000, gapsMs: [0, 2, 20] };

const node = process.execPath;
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const MOCK_CLI = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));
const secrets = { token: 'translator-reference-token', anthropicKey: fakeProviderKey('anthropic') };
const env = { BENCH_TOKEN: secrets.token, BENCH_ANTHROPIC_KEY: secrets.anthropicKey };

/** The mock at `gapMs` between events, and each target in front of it (byokit on core's Node handler). */
async function startStack(processes, gapMs) {
  const mock = await processes.start(node, [MOCK_CLI, '--port', '0', '--gap-ms', String(gapMs)], { label: 'mock providers' });
  const upstream = mock.info.anthropic;
  const [floor, translator, byokit] = await Promise.all([
    processes.start(node, [here('./servers/floor.mjs'), '--upstream', upstream], { label: 'floor server' }),
    processes.start(node, [here('./servers/translator.mjs'), '--upstream', upstream], { env, label: 'translator server' }),
    processes.start(node, [here('./servers/byokit-server.mjs'), '--anthropic-base-url', upstream, '--mount=node'], {
      env,
      label: 'byokit server',
    }),
  ]);
  const origin = (started) => `http://127.0.0.1:${started.info.port}`;
  return {
    direct: upstream,
    floor: origin(floor),
    translator: origin(translator),
    byokit: origin(byokit),
    processes: [mock, floor, translator, byokit],
  };
}

/** What the hrtime client sends `target`: the translator takes byokit's request (the guide's body). */
function clientSpec(stack, target, stream) {
  const request = requestFor(target === 'translator' ? 'byokit' : target, { ...secrets, stream });
  return {
    url: `${stack[target]}${request.path}`,
    headers: request.headers,
    body: request.body,
    ...(stream && { tokenMarker: request.tokenMarker }),
  };
}

/** Each target under load first, as index.mjs warms its servers: plain at 10 connections, streamed at 50, 3 s each. */
async function warmUp(processes, stack) {
  for (const target of TARGETS) {
    await runClient(processes, { mode: 'closed-loop', connections: 10, durationMs: 3000, ...clientSpec(stack, target, false) });
    await runClient(processes, { mode: 'closed-loop', connections: 50, durationMs: 3000, ...clientSpec(stack, target, true) });
  }
}

/** Rounds of one open loop over the targets in slices; each target's added p50 of `metric` per round, in µs. */
async function addedPerRound(processes, stack, { stream, rate, sliceMs, durationMs }, metric) {
  const added = Object.fromEntries(TARGETS.map((target) => [target, []]));
  const cycles = 1 + Math.ceil(durationMs / sliceMs);
  for (let round = 0; round < ROUNDS; round++) {
    const result = await runClient(processes, {
      mode: 'open-loop',
      rate,
      sliceMs,
      durationMs: durationMs * TARGETS.length,
      warmupMs: sliceMs * TARGETS.length,
      alternate: TARGETS.map((target) => clientSpec(stack, target, stream)),
      schedule: (stream ? sliceOrder : cyclicOrder)(TARGETS.length, round, cycles),
    });
    const failed = TARGETS.filter((_, index) => result.byUrl[index].failed > 0);
    if (failed.length > 0) throw new Error(`requests failed on ${failed.join(', ')} (statuses: ${result.statuses.join(', ')})`);
    const direct = result.byUrl[0][metric].p50;
    TARGETS.forEach((target, index) => added[target].push(result.byUrl[index][metric].p50 - direct));
  }
  return added;
}

function row(measure, added) {
  const [floor, translator, byokit] = ['floor', 'translator', 'byokit'].map((target) => median(added[target]));
  const spread = (target) => `${Math.min(...added[target]).toFixed(0)}–${Math.max(...added[target]).toFixed(0)}`;
  return {
    measure,
    'floor µs': `${floor.toFixed(0)} (${spread('floor')})`,
    'translator µs': `${translator.toFixed(0)} (${spread('translator')})`,
    'byokit µs': `${byokit.toFixed(0)} (${spread('byokit')})`,
    'translator × floor': (translator / floor).toFixed(2),
    'byokit × floor': (byokit / floor).toFixed(2),
    'byokit − translator µs': (byokit - translator).toFixed(0),
  };
}

const processes = new ChildProcesses();
const rows = [];
const cpu = cpuTimes();
try {
  for (const gapMs of STREAMED.gapsMs) {
    const stack = await startStack(processes, gapMs);
    await warmUp(processes, stack);
    if (gapMs === 0) rows.push(row('latency, plain', await addedPerRound(processes, stack, { stream: false, ...PLAIN }, 'latency')));
    rows.push(row(`first byte, ${gapMs} ms gaps`, await addedPerRound(processes, stack, { stream: true, ...STREAMED }, 'firstByte')));
    await Promise.all(stack.processes.map((started) => processes.stop(started.child)));
  }
  console.log(
    `\nAdded p50 over the direct call (median of ${ROUNDS} rounds, min–max): plain at ${PLAIN.rate}/s, streams at ${STREAMED.rate}/s; CPU time stolen by the host meanwhile: ${stealSince(cpu)}`,
  );
  console.table(rows);
} finally {
  await processes.stopAll();
}
