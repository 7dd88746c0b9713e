// The benchmark's clients of a target, each in a process of its own: the hrtime client run once, and the load
// generator (wrk, else the hrtime client's closed loop).
import { fileURLToPath } from 'node:url';
import { requestFor } from './targets.mjs';
import { parseWrk } from './wrk.mjs';

const node = process.execPath;
export const CLIENT = fileURLToPath(new URL('./hrtime-client.mjs', import.meta.url));

/** Runs the hrtime client on `spec` (hrtime-client.mjs) and resolves with the JSON it printed. */
export async function runClient(processes, spec) {
  const output = await processes.run(node, [CLIENT, JSON.stringify(spec)], { timeoutMs: 60_000, label: 'hrtime client' });
  return JSON.parse(output.trim().split('\n').at(-1));
}

/**
 * The hrtime client's spec of what `target` of `stack` is sent (targets.mjs), plain or streamed. Streamed, with the
 * marker of its first text, which each answer must carry to count (a plain answer from the mock carries none).
 */
export const clientSpec = (stack, target, secrets, stream) => {
  const request = requestFor(target, { ...secrets, stream });
  return {
    url: `${stack[target].origin}${request.path}`,
    headers: request.headers,
    body: request.body,
    ...(stream && { tokenMarker: request.tokenMarker }),
  };
};

/**
 * A load generator in its own process: wrk when present, else the hrtime client's closed loop (slower, said in the output).
 * Resolves with requests/s, p50 latency in µs, the request count and failures (none: a target that answers any request
 * of its load with an error or not at all stops the benchmark with what it said on stderr, as in the open loops; wrk
 * counts a refusal in its requests/s, so a target refusing fast would show a throughput).
 */
export function loadGenerator(processes, wrk, scripts, secrets) {
  const generate = generator(processes, wrk, scripts, secrets);
  return async (stack, target, options) => {
    const result = await generate(stack, target, options);
    if (result.failed > 0) {
      const said = stack[target].stderr().trim();
      throw new Error(
        `${target}: ${result.failed} failed responses under load (${wrk ? 'wrk' : 'closed loop'})${said ? `; its stderr:\n${said}` : ''}`,
      );
    }
    return result;
  };
}

function generator(processes, wrk, scripts, secrets) {
  const path = (target) => requestFor(target, { ...secrets, stream: false }).path;
  if (wrk) {
    return async (stack, target, { threads, connections, seconds, stream = false }) => {
      const script = scripts[stream ? 'streamed' : 'plain'][target];
      const output = await processes.run(
        wrk,
        [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, `${stack[target].origin}${path(target)}`],
        { timeoutMs: (seconds + 20) * 1000, label: `wrk on ${target}` },
      );
      const result = parseWrk(output);
      return { ...result, failed: result.non2xx + result.socketErrors };
    };
  }
  return async (stack, target, { connections, seconds, stream = false }) => {
    const result = await runClient(processes, {
      mode: 'closed-loop',
      connections,
      durationMs: seconds * 1000,
      ...clientSpec(stack, target, secrets, stream),
    });
    return {
      requestsPerSecond: result.requestsPerSecond,
      p50: result.latency?.p50 ?? Number.NaN,
      requests: result.requests,
      failed: result.failed,
    };
  };
}
