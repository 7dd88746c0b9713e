import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadGenerator } from './load.mjs';
import { ChildProcesses } from './processes.mjs';
import { requestFor } from './targets.mjs';
import { writeLuaScript } from './wrk.mjs';

/** wrk where it is installed (not installed here: findWrk would run apt-get). */
function installedWrk() {
  try {
    return execFileSync('which', ['wrk'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const secrets = { token: 'token', anthropicKey: 'key' };
let directory;
let scripts;
let processes;
let servers;
let stack;
beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'byokit-bench-load-test-'));
  const script = (stream) => ({ floor: writeLuaScript(directory, `floor-${stream}`, requestFor('floor', { ...secrets, stream })) });
  scripts = { plain: script(false), streamed: script(true) };
  processes = new ChildProcesses();
  // The "floor" answering every request, and one refusing every request (429, as a rate-limited server would).
  const start = async (status) => {
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(status, { 'content-type': 'application/json' }).end('{}'));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  servers = { answers: await start(200), refuses: await start(429) };
  const at = (server) => ({ floor: { origin: `http://127.0.0.1:${server.address().port}`, stderr: () => 'what it said' } });
  stack = { answers: at(servers.answers), refuses: at(servers.refuses) };
});
afterAll(async () => {
  await processes.stopAll();
  for (const server of Object.values(servers)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  rmSync(directory, { recursive: true, force: true });
});

describe("the chat benchmark's load generator", () => {
  // wrk counts a 429 in its Requests/sec: a target refusing its load fast would show a throughput, held to its goal.
  const generators = [
    ['wrk', installedWrk()],
    ["the hrtime client's closed loop", null],
  ];
  for (const [name, wrk] of generators) {
    it.skipIf(name === 'wrk' && !wrk)(`(${name}) stops on a target that answers its load with errors, saying what it said`, async () => {
      const load = loadGenerator(processes, wrk, scripts, secrets);
      const run = { threads: 1, connections: 1, seconds: 1 };
      expect((await load(stack.answers, 'floor', run)).failed).toBe(0);
      await expect(load(stack.refuses, 'floor', run)).rejects.toThrow(/^floor: \d+ failed responses under load[^]*what it said/);
    });
  }
});
