// Throughput from wrk (Debian's package), a separate process: a Lua script per target sets the POST body and
// headers; its summary is parsed here. wrk's latency is in µs resolution, unlike autocannon's whole ms.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** wrk's path, installing Debian's package when it is missing; null when neither works. */
export function findWrk() {
  const which = () => {
    try {
      return execFileSync('which', ['wrk'], { encoding: 'utf8' }).trim() || null;
    } catch {
      return null;
    }
  };
  const found = which();
  if (found) return found;
  try {
    execFileSync('apt-get', ['install', '-y', '-q', 'wrk'], { stdio: 'ignore', timeout: 120_000 });
  } catch {
    return null;
  }
  return which();
}

/** Writes the Lua script wrk needs to send `request` (a target's POST) and returns its path. */
export function writeLuaScript(directory, name, request) {
  // Lua long brackets take the JSON as is; no escaping, as long as the body never holds "]==]".
  if (request.body.includes(']==]')) throw new Error('the request body cannot go into a Lua long string');
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = [==[${request.body}]==]`,
    ...Object.entries(request.headers).map(([name, value]) => `wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`),
  ];
  const path = join(directory, `${name}.lua`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const UNIT_TO_MICROS = { us: 1, ms: 1000, s: 1_000_000 };

function micros(text) {
  const match = /^([\d.]+)(us|ms|s)$/.exec(text);
  return match ? Number(match[1]) * UNIT_TO_MICROS[match[2]] : Number.NaN;
}

/** The figures of a `wrk --latency` summary: requests/s, latency p50/p99 in µs, failed responses. */
export function parseWrk(output) {
  const number = (pattern) => Number(pattern.exec(output)?.[1] ?? 0);
  const requestsPerSecond = number(/^Requests\/sec:\s+([\d.]+)/m);
  if (!requestsPerSecond) throw new Error(`wrk printed no Requests/sec:\n${output}`);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  return {
    requestsPerSecond,
    p50: micros(/^\s+50%\s+(\S+)/m.exec(output)?.[1] ?? ''),
    p99: micros(/^\s+99%\s+(\S+)/m.exec(output)?.[1] ?? ''),
    requests: number(/^\s+(\d+) requests in/m),
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socketErrors ? socketErrors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
  };
}
