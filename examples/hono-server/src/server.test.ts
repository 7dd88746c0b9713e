import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The built server, as `npm start` runs it (turbo builds before tests; by hand: npx tsup).
const SERVER = fileURLToPath(new URL('../dist/server.js', import.meta.url));
const running: Array<ReturnType<typeof spawn>> = [];
afterEach(() => running.splice(0).forEach((child) => child.kill('SIGTERM')));

/** Starts the server on a free port; resolves with everything it printed once it says where it listens. */
function start(environment: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk;
      if (/localhost:\d+\/v2[^\n]*\n/.test(output)) resolve(output);
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${output}`)));
  });
}

describe('the Hono example as npm start runs it', () => {
  it('warns, naming the variable and not its value, when it ignores a placeholder system key', async () => {
    const output = await start({ OPENAI_API_KEY: 'sk-YOUR-KEY-HERE' });
    expect(output).toMatch(/"level":40,.*OPENAI_API_KEY holds a placeholder, not a key: ignored/);
    expect(output).not.toContain('sk-YOUR-KEY-HERE');
  });

  it('logs each line as JSON with its level, as the Express and Fastify examples do', async () => {
    const lines = (await start({ BYOKIT_MOCK_PROVIDERS: '1' })).trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    expect(lines.join('\n')).toContain('BYOKIT_MOCK_PROVIDERS is on');
  });
});
