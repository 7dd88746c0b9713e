// The chat path: byokit doing its work on POST /llm/chat/completions (auth, validation, key resolution from
// encrypted storage and its cache, translation to Anthropic's API, normalisation of the answer, the usage
// record) against the provider mock on loopback, beside a bare node:http byte pass-through (the floor) and
// the mock called directly. byokit runs mounted four ways (core's Node handler, Express, Fastify, core's fetch
// handler), each in its own server. Every server, the load (wrk) and the latency client are separate processes
// on 127.0.0.1; each figure is measured in 3 rounds, the order of targets rotated each round, and held to the
// issue's goals as a ratio to the floor measured in the same run; the mounts are compared at the end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fakeProviderKey } from '@byokit/core/testing';
import { judged, median, verdict } from '../measure.mjs';
import { CLIENT, clientSpec, loadGenerator, runClient } from './load.mjs';
import { ChildProcesses, cpuMicros, cpuTimes, residentBytes, stealSince } from './processes.mjs';
import { cyclicOrder, sliceOrder } from './slice-order.mjs';
import { BYOKIT_MOUNTS, TARGETS, TARGET_LABELS, requestFor } from './targets.mjs';
import { findWrk, writeLuaScript } from './wrk.mjs';

const ROUNDS = 3;
const THROUGHPUT = { threads: 2, connections: 50, seconds: 5 };
// Open loops take the targets in turn, a slice at a time (openLoopRounds): durationMs is each target's share of a round.
const OPEN_LOOP = { rate: 500, durationMs: 5000, sliceMs: 500 };
// Each target of a fresh stack, before its latency is measured (warmUp below): plain requests at 10 connections,
// then streamed ones at 50 (a stream of the 20 ms-gap mock lasts ~0.3 s).
const WARM_UP = { threads: 1, connections: 10, streamConnections: 50, seconds: 3 };
const FIRST_BYTE = { rate: 200, durationMs: 2000, sliceMs: 250, gapsMs: [0, 2, 20] };
// A gap long enough that every stream is still open, past its first event, while memory is read.
const OPEN_STREAMS = { count: 1000, gapMs: 30_000, settleMs: 750 };
const GOALS = { addedLatency: 1.5, throughput: 0.35, addedFirstByte: 1.5, memoryPerStream: 1.5, keyResolutionMicros: 5 };

const node = process.execPath;
const MOCK_CLI = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));
const FLOOR_SERVER = fileURLToPath(new URL('./servers/floor.mjs', import.meta.url));
const BYOKIT_SERVER = fileURLToPath(new URL('./servers/byokit-server.mjs', import.meta.url));

const rotated = (list, round) => list.map((_, index) => list[(index + round) % list.length]);
const spread = (values) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });
const fixed = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const range = ({ min, max }, digits = 0) => `${fixed(min, digits)}–${fixed(max, digits)}`;
const ratio = (value, floor) => value / floor;

/**
 * Starts one set of servers sharing a mock whose streams pause `gapMs` between events: the mock (the
 * `direct` target), the floor and byokit in each of its mounts. Resolves with each target's origin and process.
 */
async function startStack(processes, gapMs, secrets) {
  const mock = await processes.start(node, [MOCK_CLI, '--port', '0', '--gap-ms', String(gapMs)], { label: 'mock providers' });
  const upstream = mock.info.anthropic;
  const env = { BENCH_TOKEN: secrets.token, BENCH_ANTHROPIC_KEY: secrets.anthropicKey };
  const mounts = Object.entries(BYOKIT_MOUNTS);
  const [floor, ...byokits] = await Promise.all([
    processes.start(node, [FLOOR_SERVER, '--upstream', upstream], { label: 'floor server' }),
    ...mounts.map(([target, mount]) =>
      processes.start(node, [BYOKIT_SERVER, '--anthropic-base-url', upstream, `--mount=${mount}`], { env, label: `${target} server` }),
    ),
  ]);
  const at = (started) => ({ child: started.child, stderr: started.stderr, origin: `http://127.0.0.1:${started.info.port}` });
  const stack = {
    direct: { child: mock.child, stderr: mock.stderr, origin: upstream },
    floor: at(floor),
    ...Object.fromEntries(mounts.map(([target], index) => [target, at(byokits[index])])),
  };
  // A stream of the long-gap mock takes minutes to finish: there only the plain answer is checked.
  await checkAnswers(stack, secrets, gapMs <= 100 ? [false, true] : [false]);
  return { ...stack, stop: () => Promise.all(TARGETS.map((target) => processes.stop(stack[target].child))) };
}

/** Each target answers the benchmark's requests with the mock's text, plain and streamed, before any figure is taken. */
async function checkAnswers(stack, secrets, streams) {
  for (const target of TARGETS) {
    for (const stream of streams) {
      const request = requestFor(target, { ...secrets, stream });
      const response = await fetch(`${stack[target].origin}${request.path}`, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
      });
      const text = await response.text();
      if (response.status !== 200 || !text.includes('Hello') || (stream && !text.includes(request.tokenMarker))) {
        throw new Error(`${target} answered the ${stream ? 'streaming' : 'plain'} request with ${response.status}: ${text.slice(0, 300)}`);
      }
    }
  }
}

/**
 * Every server of a fresh stack run under load first, as a server that has been up a while is: at 500 requests/s
 * alone, V8 is still optimising byokit's code (its compiler threads busy on the two shared cores) for well over
 * 10 s after start, and the floor, with far less code, is done sooner; measuring then would time the warm-up,
 * not the server. Same for every target.
 */
async function warmUp(stack, load) {
  for (const target of TARGETS) {
    await load(stack, target, WARM_UP);
    await load(stack, target, { ...WARM_UP, connections: WARM_UP.streamConnections, stream: true });
  }
}

/** Throughput at 50 connections, non-streaming. */
async function measureThroughput(processes, stack, load) {
  // Also the target process's own CPU time per request: where a proxy's time goes, whatever else shares the cores.
  const measureOnce = async (target, seconds) => {
    const pid = stack[target].child.pid;
    const cpuBefore = cpuMicros(pid);
    const result = await load(stack, target, { ...THROUGHPUT, seconds });
    return { ...result, cpuPerRequest: (cpuMicros(pid) - cpuBefore) / result.requests };
  };
  for (const target of TARGETS) await measureOnce(target, 1); // warm-up: JIT, connection pools
  const cpu = cpuTimes();
  const samples = Object.fromEntries(TARGETS.map((target) => [target, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of rotated(TARGETS, round)) samples[target].push(await measureOnce(target, THROUGHPUT.seconds));
  }
  const floor = spread(samples.floor.map((sample) => sample.requestsPerSecond)).median;
  const summary = {};
  console.log(
    `\nThroughput: ${load.label}, plain (non-streaming) chat requests; target CPU = the target's own process (the mock's for direct), user + system; CPU time stolen by the host meanwhile: ${stealSince(cpu)}`,
  );
  console.table(
    TARGETS.map((target) => {
      const rate = spread(samples[target].map((sample) => sample.requestsPerSecond));
      const p50 = spread(samples[target].map((sample) => sample.p50));
      const failed = samples[target].reduce((sum, sample) => sum + sample.failed, 0);
      summary[target] = { rate, failed };
      return {
        target,
        'req/s (median)': fixed(rate.median),
        'min–max': range(rate),
        'p50 µs under load': fixed(p50.median),
        '× floor': fixed(ratio(rate.median, floor), 2),
        'target CPU µs/request': fixed(median(samples[target].map((sample) => sample.cpuPerRequest))),
        'failed responses': failed,
      };
    }),
  );
  return summary;
}

/**
 * Open-loop rounds of the hrtime client. In a round the targets take turns a slice at a time (0.5 s of 500
 * requests/s, say), until each has had `durationMs`: a target sees the whole rate during its slices, and the host's
 * noise, which moves from second to second on a shared machine, falls on every target alike rather than on whichever
 * ran during a bad spell. The first slice of each is not counted, and each round starts with another target.
 * Streamed, each cycle of slices is a row of a Williams design (slice-order.mjs): a slice runs beside the tail of the
 * streams of the slice before it, and each target's slices come after every other target's, not always after the
 * same one's. "Added" is each round's target p50 minus the direct p50 of the same round (the mock's own time).
 */
async function openLoopRounds(processes, stack, secrets, { stream, rate, durationMs, sliceMs }) {
  const samples = Object.fromEntries(TARGETS.map((target) => [target, []]));
  // One uncounted cycle (each target's first slice), then each target's share of the round.
  const cycles = 1 + Math.ceil(durationMs / sliceMs);
  // Plain requests end within a few milliseconds of their slice, beside nothing of the next one; and the design puts
  // up to 7 slices between a target's slices, 3.5 s at 500 ms, past the 3 s byokit's undici keeps an idle connection
  // to the mock (its 5 s Keep-Alive hint less undici's 2 s margin; the floor's Node agent keeps one 4 s): byokit
  // alone would connect anew at half its slices. In one cyclic order they are 2.5 s apart.
  const order = stream ? sliceOrder : cyclicOrder;
  for (let round = 0; round < ROUNDS; round++) {
    const result = await runClient(processes, {
      mode: 'open-loop',
      rate,
      sliceMs,
      durationMs: durationMs * TARGETS.length,
      warmupMs: sliceMs * TARGETS.length,
      alternate: TARGETS.map((target) => clientSpec(stack, target, secrets, stream)),
      schedule: order(TARGETS.length, round, cycles),
    });
    TARGETS.forEach((target, index) => {
      const figures = result.byUrl[index];
      if (figures.failed > 0) {
        const said = stack[target].stderr().trim();
        throw new Error(
          `${target}: ${figures.failed} requests failed (statuses of the round: ${result.statuses.join(', ')})${said ? `; its stderr:\n${said}` : ''}`,
        );
      }
      samples[target].push({ ...figures, lateness: result.lateness });
    });
  }
  return samples;
}

function added(samples, target, metric) {
  return spread(samples[target].map((sample, round) => sample[metric].p50 - samples.direct[round][metric].p50));
}

async function measureLatency(processes, stack, secrets) {
  for (const target of TARGETS)
    await runClient(processes, { mode: 'open-loop', rate: OPEN_LOOP.rate, durationMs: 1000, ...clientSpec(stack, target, secrets, false) });
  const cpu = cpuTimes();
  const samples = await openLoopRounds(processes, stack, secrets, { stream: false, ...OPEN_LOOP });
  const floorAdded = added(samples, 'floor', 'latency');
  const summary = {};
  console.log(
    `\nLatency, open loop: ${OPEN_LOOP.rate} requests/s, ${OPEN_LOOP.durationMs / 1000} s per target a round in ${OPEN_LOOP.sliceMs} ms slices taking turns, plain chat requests, µs; CPU time stolen by the host meanwhile: ${stealSince(cpu)}`,
  );
  console.table(
    TARGETS.map((target) => {
      const p50 = spread(samples[target].map((sample) => sample.latency.p50));
      const extra = target === 'direct' ? undefined : added(samples, target, 'latency');
      summary[target] = { p50, added: extra };
      return {
        target,
        'p50 (median)': fixed(p50.median),
        'min–max': range(p50),
        p90: fixed(median(samples[target].map((sample) => sample.latency.p90))),
        p99: fixed(median(samples[target].map((sample) => sample.latency.p99))),
        'added p50 over direct': extra ? `${fixed(extra.median)} (${range(extra)})` : '',
        "× floor's added": extra ? fixed(ratio(extra.median, floorAdded.median), 2) : '',
        'client lateness p99': fixed(median(samples[target].map((sample) => sample.lateness.p99))),
      };
    }),
  );
  return summary;
}

async function measureFirstByte(processes, stack, secrets, gapMs) {
  for (const target of TARGETS)
    await runClient(processes, { mode: 'open-loop', rate: FIRST_BYTE.rate, durationMs: 500, ...clientSpec(stack, target, secrets, true) });
  const cpu = cpuTimes();
  const samples = await openLoopRounds(processes, stack, secrets, { stream: true, ...FIRST_BYTE });
  const floor = { firstByte: added(samples, 'floor', 'firstByte'), firstToken: added(samples, 'floor', 'firstToken') };
  const summary = {};
  console.log(
    `\nStreaming, mock gap ${gapMs} ms between events: open loop ${FIRST_BYTE.rate} streams/s, ${FIRST_BYTE.durationMs / 1000} s per target a round in ${FIRST_BYTE.sliceMs} ms slices taking turns, µs; first byte = response head, first token = first body bytes with answer text; CPU time stolen by the host meanwhile: ${stealSince(cpu)}`,
  );
  console.table(
    TARGETS.map((target) => {
      const row = { target };
      summary[target] = {};
      for (const [metric, label] of [
        ['firstByte', 'first byte'],
        ['firstToken', 'first token'],
      ]) {
        const p50 = spread(samples[target].map((sample) => sample[metric].p50));
        row[`${label} p50`] = `${fixed(p50.median)} (${range(p50)})`;
        if (target === 'direct') continue;
        const extra = added(samples, target, metric);
        summary[target][metric] = extra;
        row[`${label} added`] = fixed(extra.median);
        row[`${label} × floor's added`] = fixed(ratio(extra.median, floor[metric].median), 2);
      }
      row['whole stream p50'] = fixed(median(samples[target].map((sample) => sample.latency.p50)));
      return row;
    }),
  );
  return summary;
}

/** RSS growth of each proxy while it holds 1,000 open streams; fresh servers every round, so rounds do not reuse grown heaps. */
async function measureOpenStreams(processes, secrets, load) {
  const targets = ['floor', ...Object.keys(BYOKIT_MOUNTS)];
  const growth = Object.fromEntries(targets.map((target) => [target, []]));
  const baseline = Object.fromEntries(targets.map((target) => [target, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const stack = await startStack(processes, OPEN_STREAMS.gapMs, secrets);
    try {
      for (const target of rotated(targets, round)) {
        const pid = stack[target].child.pid;
        // Warm-up the same for every target: plain requests, then 100 streams opened and dropped.
        await load(stack, target, { threads: 1, connections: 10, seconds: 1 });
        const warm = await processes.start(
          node,
          [CLIENT, JSON.stringify({ mode: 'hold', count: 100, ...clientSpec(stack, target, secrets, true) })],
          { label: 'hrtime client (hold)' },
        );
        await processes.stop(warm.child);
        await sleep(OPEN_STREAMS.settleMs);
        const before = residentBytes(pid);
        const holding = await processes.start(
          node,
          [CLIENT, JSON.stringify({ mode: 'hold', count: OPEN_STREAMS.count, ...clientSpec(stack, target, secrets, true) })],
          { label: 'hrtime client (hold)', timeoutMs: 30_000 },
        );
        if (holding.info.open !== OPEN_STREAMS.count)
          throw new Error(`${target}: only ${holding.info.open} of ${OPEN_STREAMS.count} streams opened`);
        await sleep(OPEN_STREAMS.settleMs);
        const after = residentBytes(pid);
        await processes.stop(holding.child);
        baseline[target].push(before);
        growth[target].push(((after - before) * 1000) / OPEN_STREAMS.count);
      }
    } finally {
      await stack.stop();
    }
  }
  const floor = spread(growth.floor).median;
  const mb = (bytes) => bytes / 1024 / 1024;
  const summary = {};
  console.log(
    `\nMemory: RSS growth while ${OPEN_STREAMS.count} streams are open at once (mock gap ${OPEN_STREAMS.gapMs / 1000} s), fresh servers each round`,
  );
  console.table(
    targets.map((target) => {
      const perThousand = spread(growth[target]);
      summary[target] = perThousand;
      return {
        target,
        'RSS before, MB': fixed(mb(median(baseline[target])), 1),
        'growth per 1,000 streams, MB': fixed(mb(perThousand.median), 1),
        'min–max': `${fixed(mb(perThousand.min), 1)}–${fixed(mb(perThousand.max), 1)}`,
        'KB per stream': fixed(perThousand.median / 1000 / 1024, 1),
        '× floor': fixed(ratio(perThousand.median, floor), 2),
      };
    }),
  );
  return summary;
}

function goalsTable({ throughput, latency, firstBytes, streams, keyResolutionMicros }) {
  const rows = [];
  const target = 'byokit';
  {
    // The ratio held to `goal`: at most it, or (`atMost` false) at least it.
    const push = (label, byokitFigure, floorFigure, value, goal, atMost = true) => {
      const { figure, met } = judged(value, goal, { atMost });
      rows.push({ goal: label, target, byokit: byokitFigure, floor: floorFigure, ratio: figure, result: verdict(met) });
    };
    push(
      `added p50 latency at ${OPEN_LOOP.rate} req/s ≤ ${GOALS.addedLatency}× floor's`,
      `${fixed(latency[target].added.median)} µs`,
      `${fixed(latency.floor.added.median)} µs`,
      ratio(latency[target].added.median, latency.floor.added.median),
      GOALS.addedLatency,
    );
    push(
      `throughput at ${THROUGHPUT.connections} connections ≥ ${GOALS.throughput}× floor's`,
      `${fixed(throughput[target].rate.median)} req/s`,
      `${fixed(throughput.floor.rate.median)} req/s`,
      ratio(throughput[target].rate.median, throughput.floor.rate.median),
      GOALS.throughput,
      false,
    );
    for (const [gapMs, summary] of firstBytes) {
      for (const [metric, label] of [
        ['firstByte', 'first byte'],
        ['firstToken', 'first token'],
      ]) {
        push(
          `streaming ${label} added, gap ${gapMs} ms ≤ ${GOALS.addedFirstByte}× floor's`,
          `${fixed(summary[target][metric].median)} µs`,
          `${fixed(summary.floor[metric].median)} µs`,
          ratio(summary[target][metric].median, summary.floor[metric].median),
          GOALS.addedFirstByte,
        );
      }
    }
    push(
      `RSS growth per 1,000 open streams ≤ ${GOALS.memoryPerStream}× floor's`,
      `${fixed(streams[target].median / 1024 / 1024, 1)} MB`,
      `${fixed(streams.floor.median / 1024 / 1024, 1)} MB`,
      ratio(streams[target].median, streams.floor.median),
      GOALS.memoryPerStream,
    );
  }
  const keyResolution =
    keyResolutionMicros === undefined ? undefined : judged(keyResolutionMicros, GOALS.keyResolutionMicros, { atMost: true });
  rows.push({
    goal: `key resolution from cache ≤ ${GOALS.keyResolutionMicros} µs (bench/key-path.mjs, above)`,
    target: 'byokit',
    byokit: keyResolution === undefined ? 'not measured in this run' : `${keyResolution.figure} µs`,
    floor: '',
    ratio: '',
    result: keyResolution === undefined ? 'n/a' : verdict(keyResolution.met),
  });
  console.log('\nChat path goals (ratios of medians; "added" = over calling the mock directly, in the same round)');
  console.table(rows);
}

/**
 * byokit's four mounts side by side, from the figures above (so measured in the same rounds as the floor):
 * each median with its min–max, as a ratio to the floor's and to core's Node handler's (`byokit`).
 */
function mountsTable({ throughput, latency, firstBytes, streams }) {
  const targets = ['floor', ...Object.keys(BYOKIT_MOUNTS)];
  const streaming = Object.fromEntries(firstBytes);
  const [shortestGap, longestGap] = [FIRST_BYTE.gapsMs[0], FIRST_BYTE.gapsMs.at(-1)];
  const megabytes = (bytes) => bytes / 1024 / 1024;
  const measures = [
    [`throughput at ${THROUGHPUT.connections} connections, req/s`, (target) => throughput[target].rate, 0],
    [`added p50 latency at ${OPEN_LOOP.rate} req/s, µs`, (target) => latency[target].added, 0],
    [`streaming first byte added (${shortestGap} ms gaps), µs`, (target) => streaming[shortestGap][target].firstByte, 0],
    [`streaming first token added (${shortestGap} ms gaps), µs`, (target) => streaming[shortestGap][target].firstToken, 0],
    // Where a mount holds the response head back until the first text, it shows here.
    [`streaming first byte added (${longestGap} ms gaps), µs`, (target) => streaming[longestGap][target].firstByte, 0],
    ['RSS growth per 1,000 open streams, MB', (target) => streams[target] && scaled(streams[target], megabytes), 1],
  ];
  const rows = [];
  for (const [measure, figure, digits] of measures) {
    for (const target of targets) {
      const value = figure(target);
      if (value === undefined) {
        rows.push({ measure, target, median: 'not measured (below)' });
        continue;
      }
      rows.push({
        measure,
        target,
        median: fixed(value.median, digits),
        'min–max': range(value, digits),
        '× floor': fixed(ratio(value.median, figure('floor').median), 2),
        '× byokit (Node handler)': target === 'floor' ? '' : fixed(ratio(value.median, figure('byokit').median), 2),
      });
    }
  }
  console.log(
    "\nbyokit's mounts side by side (the figures above: same run, same rounds; ratios of medians; throughput higher is better, the others lower)",
  );
  console.table(rows);
}

const scaled = ({ median, min, max }, by) => ({ median: by(median), min: by(min), max: by(max) });

/**
 * Runs the chat-path benchmark and prints its tables and goals. `keyResolutionMicros` is the cached key
 * resolution measured by bench/key-path.mjs in the same run (not measured twice).
 */
export async function runChat({ keyResolutionMicros } = {}) {
  const started = performance.now();
  const processes = new ChildProcesses();
  const scriptDirectory = mkdtempSync(join(tmpdir(), 'byokit-bench-chat-'));
  const secrets = { token: randomBytes(24).toString('base64url'), anthropicKey: fakeProviderKey('anthropic') };
  try {
    const wrk = findWrk();
    const scriptsOf = (stream) =>
      Object.fromEntries(
        TARGETS.map((target) => [
          target,
          writeLuaScript(
            scriptDirectory,
            `${target.replace('+', '-')}-${stream ? 'streamed' : 'plain'}`,
            requestFor(target, { ...secrets, stream }),
          ),
        ]),
      );
    const scripts = { plain: scriptsOf(false), streamed: scriptsOf(true) };
    const load = loadGenerator(processes, wrk, scripts, secrets);
    load.label = wrk
      ? `wrk -t${THROUGHPUT.threads} -c${THROUGHPUT.connections} -d${THROUGHPUT.seconds}s`
      : `the hrtime client's closed loop, ${THROUGHPUT.connections} connections for ${THROUGHPUT.seconds} s (wrk missing: one Node process, itself a bottleneck near the floor's rate)`;
    console.log(
      `\nChat path: POST /v2/llm/chat/completions through byokit (core's Node handler on node:http, Express, Fastify, core's fetch handler) → mock Anthropic API, every server and the load in its own process on 127.0.0.1; ${ROUNDS} rounds, rotated order; load from ${wrk ?? 'the Node client (wrk could not be installed)'}`,
    );
    console.log('Targets:');
    for (const target of TARGETS) console.log(`  ${TARGET_LABELS[target]}`);
    console.log(
      'byokit does: host auth (bearer token → Map), body read + JSON validation, key resolution (memory storage, encrypted, 10 s cache), request translation, answer normalisation with usage and cost, the usage record (memory storage).',
    );

    // A fresh mock per phase: the mock keeps every request it received (~1 KB each), and a throughput run sends it 100,000s.
    let stack = await startStack(processes, 0, secrets);
    let throughput;
    try {
      throughput = await measureThroughput(processes, stack, load);
    } finally {
      await stack.stop();
    }

    const firstBytes = [];
    let latency;
    for (const gapMs of FIRST_BYTE.gapsMs) {
      stack = await startStack(processes, gapMs, secrets);
      try {
        await warmUp(stack, load);
        if (gapMs === 0) latency = await measureLatency(processes, stack, secrets);
        firstBytes.push([gapMs, await measureFirstByte(processes, stack, secrets, gapMs)]);
      } finally {
        await stack.stop();
      }
    }

    const streams = await measureOpenStreams(processes, secrets, load);

    goalsTable({ throughput, latency, firstBytes, streams, keyResolutionMicros });
    mountsTable({ throughput, latency, firstBytes, streams });
    console.log(`Chat benchmark took ${((performance.now() - started) / 1000).toFixed(0)} s.`);
  } finally {
    await processes.stopAll();
    rmSync(scriptDirectory, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await runChat();
