// The benchmark's own HTTP client, run as a child process so that it never shares an event loop with the
// server it measures. wrk measures throughput; this measures what wrk cannot: latency on a fixed schedule
// (open loop), time to first byte and to the first token of a stream, and many streams held open at once.
//
//   node hrtime-client.mjs '<json spec>'   → one JSON line on stdout
//
// Spec: { mode: 'open-loop' | 'closed-loop' | 'hold', url, headers, body, tokenMarker?, rate?, durationMs?, warmupMs?,
//         connections?, count?, alternate?, sliceMs?, schedule?, graceMs? }
// - open-loop: POSTs `rate` requests a second for `warmupMs + durationMs`, each started at its scheduled time
//   whether or not earlier ones have finished (so a slow server cannot slow the load down, which would hide
//   its latency: "coordinated omission"). Requests of the first `warmupMs` are not counted. Prints
//   percentiles in µs of: `latency` (send → last byte), `firstByte` (send → response head), `firstToken`
//   (send → the first body chunk holding `tokenMarker`, the first text of a streamed answer; a response that ends
//   without it counts as failed, as one not answered 200 does), and
//   `lateness` (how far behind schedule requests were sent: the client's own noise). With `alternate` (a list of
//   targets, each { url, headers, body, tokenMarker? }), the load goes to each in turn instead of to `url`: request
//   by request, or for `sliceMs` at a time (each target then gets the whole `rate` during its slices), and the
//   figures come per target in `byUrl`. So the host's noise falls on every target alike (compare-builds.mjs,
//   index.mjs). The slices go to the targets in turn, or in the order of `schedule` (indexes into `alternate`, one
//   a slice, repeated if the run is longer: slice-order.mjs).
// - closed-loop: the fallback load generator when wrk is missing (`connections` loops for `durationMs`).
// - hold: opens `count` streaming requests, at most 100 connecting at a time (a listen backlog is 511),
//   prints {"open": n} once every one has its response head, then holds them until killed.
import { Agent, request as httpRequest } from 'node:http';
import { quantile } from '../measure.mjs';

const spec = JSON.parse(process.argv[2] ?? '{}');

/** What one target is sent: its URL, headers and body, and the bytes that mark a stream's first text. */
function targetOf({ url, headers, body, tokenMarker }) {
  const payload = Buffer.from(body ?? '');
  return {
    url: new URL(url),
    headers: { ...headers, 'content-length': String(payload.byteLength) },
    payload,
    marker: tokenMarker === undefined ? undefined : Buffer.from(tokenMarker),
  };
}

const alternates = spec.alternate?.map(targetOf);
const single = alternates ? alternates[0] : targetOf(spec);
// `timeout` is what makes Node 20's agent heed a server's `Keep-Alive: timeout=N` (it lets an idle connection go 1 s
// before): without it, requests sent in a burst after a stall reuse connections the server is closing, and fail
// with ECONNRESET (seen against the mock, which closes them after 5 s; undici, byokit's client, heeds the hint).
const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024, timeout: 60_000 });
const now = () => process.hrtime.bigint();

/** One POST to `target`; calls back with its timings in ns (undefined when it failed) and its status. */
function send(done, target = single) {
  const { url, headers, payload, marker } = target;
  const started = now();
  const timing = { started, firstByte: undefined, firstToken: undefined, latency: undefined, status: 0 };
  const request = httpRequest(url, { method: 'POST', headers, agent }, (response) => {
    timing.firstByte = now() - started;
    timing.status = response.statusCode;
    let tail = Buffer.alloc(0);
    response.on('data', (chunk) => {
      if (marker === undefined || timing.firstToken !== undefined) return;
      // Keep a few bytes of the previous chunk, in case the marker straddles two chunks.
      const window = tail.length === 0 ? chunk : Buffer.concat([tail, chunk]);
      if (window.includes(marker)) timing.firstToken = now() - started;
      else tail = window.subarray(Math.max(0, window.length - marker.length));
    });
    response.on('end', () => {
      timing.latency = now() - started;
      // A stream that ended without its first text was not answered, whatever its status.
      if (marker !== undefined && timing.firstToken === undefined) timing.error = 'ended without tokenMarker';
      done(timing);
    });
    response.on('error', () => done(timing));
  });
  request.on('error', (error) => {
    timing.error = error.code ?? error.message;
    done(timing);
  });
  request.end(payload);
  return request;
}

/** Answered whole: a 200, to its last byte, and with its first text where `tokenMarker` asked for one. */
const answered = (timing) => timing.status === 200 && timing.latency !== undefined && timing.error === undefined;

/** p50, p90 and p99 in µs of `values` in ns; null for none. */
function percentiles(values) {
  if (values.length === 0) return null;
  const micros = values.map((value) => Number(value) / 1000);
  return { p50: quantile(micros, 0.5), p90: quantile(micros, 0.9), p99: quantile(micros, 0.99) };
}

async function openLoop() {
  const interval = BigInt(Math.round(1e9 / spec.rate));
  const perSlice = spec.sliceMs ? Math.max(1, Math.round((spec.rate * spec.sliceMs) / 1000)) : 1;
  const slice = (index) => Math.floor(index / perSlice);
  const targetIndex = spec.schedule
    ? (index) => spec.schedule[slice(index) % spec.schedule.length]
    : (index) => slice(index) % alternates.length;
  const warmup = Math.round((spec.rate * (spec.warmupMs ?? 0)) / 1000);
  const total = warmup + Math.round((spec.rate * spec.durationMs) / 1000);
  const results = [];
  // Counted requests sent to each target: one never answered is in no result, but is a failure of its target.
  const sentTo = alternates ? alternates.map(() => 0) : [0];
  let finished = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const start = now() + 5_000_000n;
  await new Promise((resolve) => {
    let index = 0;
    const tick = () => {
      while (index < total && start + BigInt(index) * interval <= now()) {
        const scheduled = start + BigInt(index) * interval;
        const counted = index >= warmup;
        const target = alternates ? targetIndex(index) : 0;
        if (counted) sentTo[target]++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        send((timing) => {
          inFlight--;
          if (counted) results.push({ ...timing, target, lateness: timing.started - scheduled });
          if (++finished === total) resolve();
        }, alternates?.[target]);
        index++;
      }
      if (index < total) setTimeout(tick, Math.max(0, Number(start + BigInt(index) * interval - now()) / 1e6));
    };
    tick();
    // Bounded: whatever has not answered `graceMs` (15 s) after the last send counts as failed.
    setTimeout(resolve, (spec.warmupMs ?? 0) + spec.durationMs + (spec.graceMs ?? 15_000)).unref();
  });
  const ok = results.filter(answered);
  const figures = (timings) => {
    const pick = (field) => timings.map((timing) => timing[field]).filter((value) => value !== undefined);
    return {
      latency: percentiles(pick('latency')),
      firstByte: percentiles(pick('firstByte')),
      // null where no marker was asked for (nothing to time), or none was seen.
      firstToken: percentiles(pick('firstToken')),
    };
  };
  return {
    sent: total - warmup,
    ok: ok.length,
    failed: total - warmup - ok.length,
    statuses: [...new Set(results.map((timing) => timing.error ?? timing.status))],
    maxInFlight,
    ...figures(ok),
    lateness: percentiles(results.map((timing) => timing.lateness)),
    ...(alternates && {
      byUrl: alternates.map((_, target) => {
        const answered = ok.filter((timing) => timing.target === target);
        return { ...figures(answered), failed: sentTo[target] - answered.length };
      }),
    }),
  };
}

async function hold() {
  const requests = [];
  let open = 0;
  let failed = 0;
  const started = now();
  await new Promise((resolve) => {
    let launched = 0;
    const launch = () => {
      if (launched === spec.count) return;
      launched++;
      const request = httpRequest(single.url, { method: 'POST', headers: single.headers, agent }, (response) => {
        response.resume();
        if (response.statusCode === 200) open++;
        else failed++;
        settle();
      });
      request.on('error', () => {
        failed++;
        settle();
      });
      request.end(single.payload);
      requests.push(request);
    };
    const settle = () => {
      if (open + failed === spec.count) resolve();
      else launch();
    };
    for (let index = 0; index < Math.min(100, spec.count); index++) launch();
  });
  process.stdout.write(`${JSON.stringify({ open, failed, ms: Number(now() - started) / 1e6 })}\n`);
  // Held until the benchmark has read the server's memory and kills this process.
  setInterval(() => {}, 60_000);
}

/** Only when wrk is missing: `connections` keep-alive loops, each sending its next request when the last ended. */
async function closedLoop() {
  const deadline = now() + BigInt(spec.durationMs) * 1_000_000n;
  const latencies = [];
  let failed = 0;
  const started = now();
  const loop = async () => {
    while (now() < deadline) {
      const timing = await new Promise((resolve) => send(resolve));
      if (answered(timing)) latencies.push(timing.latency);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const seconds = Number(now() - started) / 1e9;
  return { requests: latencies.length, requestsPerSecond: latencies.length / seconds, failed, latency: percentiles(latencies) };
}

const modes = { 'open-loop': openLoop, 'closed-loop': closedLoop, hold };
const result = await modes[spec.mode]();
if (result !== undefined) {
  // stdout is a pipe, written synchronously on Linux: the line is out before exit.
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
