// The critical path of one request, from syscall tracepoints: client → server → mock → server → client, cut at
// each process's epoll wake-up and write. Used by critical-path.mjs (floor vs byokit) and compare-builds.mjs
// (two builds of byokit in one process). Needs Linux `perf` and the right to read syscall tracepoints (root,
// or kernel.perf_event_paranoid ≤ -1).
//
// `perf record` traces the three processes' epoll wake-ups (sys_exit_epoll_pwait with events) and writes
// (sys_enter_write/writev) while the hrtime client's open loop runs. One clock serves all processes, so each
// client write starts a chain: the server's next wake-up, its next write (to the mock), the mock's wake-up
// and write, the server's wake-up and write (to the client), the client's wake-up. Requests are 2 ms apart
// and answered in under 1, so chains do not interleave; a chain longer than 5 ms is dropped.
import { execFileSync, spawn } from 'node:child_process';
import { median } from '../measure.mjs';
import { CLIENT } from './load.mjs';

/** The seven steps of a chain, then the whole. */
export const STEPS = [
  'client write → server wakes',
  'server: request in → call written to the mock',
  'server write → mock wakes',
  'mock: request in → answer written',
  'mock write → server wakes',
  'server: answer in → response written',
  'server write → client wakes',
  'whole chain',
];

/** Whether `perf` can trace syscalls here. */
export function canTraceSyscalls() {
  try {
    execFileSync('perf', ['list', 'syscalls:sys_exit_epoll_pwait'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the hrtime client with `spec` (an open loop) under `perf record`; resolves with the median of each of
 * {@link STEPS} in µs, the client's own p50 latency, and how many requests made a whole chain.
 */
export async function traceOpenLoop(spec, { serverPid, mockPid, dataFile }) {
  const client = spawn(process.execPath, [CLIENT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events = 'syscalls:sys_exit_epoll_pwait,syscalls:sys_enter_write,syscalls:sys_enter_writev';
  const seconds = String(((spec.warmupMs ?? 0) + spec.durationMs) / 1000 - 0.2);
  const pids = [client.pid, serverPid, mockPid].join(',');
  const perf = spawn('perf', ['record', '-q', '-o', dataFile, '-e', events, '-p', pids, '--', 'sleep', seconds], { stdio: 'ignore' });
  let output = '';
  client.stdout.on('data', (chunk) => (output += chunk));
  await Promise.all([new Promise((resolve) => client.once('exit', resolve)), new Promise((resolve) => perf.once('exit', resolve))]);
  const script = execFileSync('perf', ['script', '-i', dataFile, '-F', 'pid,tid,time,event,trace'], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const { chains, sent } = chainsOf(script, { client: client.pid, server: serverPid, mock: mockPid });
  const stepMedians = STEPS.slice(0, -1).map((_, index) => median(chains.map((chain) => chain[index + 1] - chain[index])));
  return {
    steps: [...stepMedians, median(chains.map((chain) => chain[7] - chain[0]))],
    clientP50: JSON.parse(output).latency.p50,
    chains: chains.length,
    sent,
  };
}

/** Each request's eight moments (µs): client write, server wake, server write, mock wake, mock write, server wake, server write, client wake. */
function chainsOf(script, pids) {
  const timeline = { client: [], server: [], mock: [] };
  const names = new Map(Object.entries(pids).map(([name, pid]) => [pid, name]));
  for (const line of script.split('\n')) {
    const match = /^\s*(\d+)\/(\d+)\s+([\d.]+):\s+syscalls:sys_(\w+):\s*(.*)$/.exec(line);
    // The main thread only (pid = tid): that is where each event loop waits and writes.
    if (!match || match[1] !== match[2]) continue;
    const name = names.get(Number(match[1]));
    if (!name) continue;
    const [, , , seconds, event, args] = match;
    // An epoll wait that returned events is a wake-up; one that timed out (0) is not.
    if (event === 'exit_epoll_pwait' && /0x0$/.test(args.trim())) continue;
    timeline[name].push({ kind: event === 'exit_epoll_pwait' ? 'wake' : 'write', at: Number(seconds) * 1e6 });
  }
  const next = (name, kind, after) => {
    // The first event after `after` (binary search: a timeline is in time order), then the first of its kind.
    const events = timeline[name];
    let low = 0;
    for (let high = events.length; low < high;) {
      const middle = (low + high) >> 1;
      if (events[middle].at <= after) low = middle + 1;
      else high = middle;
    }
    for (let index = low; index < events.length; index++) if (events[index].kind === kind) return events[index].at;
    return undefined;
  };
  const order = [
    ['server', 'wake'],
    ['server', 'write'],
    ['mock', 'wake'],
    ['mock', 'write'],
    ['server', 'wake'],
    ['server', 'write'],
    ['client', 'wake'],
  ];
  const sends = timeline.client.filter((event) => event.kind === 'write');
  const chains = [];
  for (const send of sends) {
    const chain = [send.at];
    for (const [name, kind] of order) {
      const at = next(name, kind, chain.at(-1));
      if (at === undefined) break;
      chain.push(at);
    }
    if (chain.length === 8 && chain[7] - chain[0] <= 5000) chains.push(chain);
  }
  return { chains, sent: sends.length };
}
