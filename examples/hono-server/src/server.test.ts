import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeProviderKey, findKeyLeaks } from '@byokit/core/testing';

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

/** Starts the server expecting it to refuse: resolves with its exit code and everything it printed. */
function refusal(environment: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return start(environment).then(
    (output) => ({ code: null, output }),
    (error: Error) => {
      const [, code, output] = /^the server exited with (\S+): ([\s\S]*)$/.exec(error.message)!;
      return { code: Number(code), output: output! };
    },
  );
}

describe('the Hono example as npm start runs it', () => {
  // As the Express and Fastify examples refuse them: before, each of these was a Node stack trace.
  it.each([
    ['PORT', 'abc', 'PORT must be a port number'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
    ['BYOKIT_KEYRING', 'k1:AAAA', "Master key 'k1' is 3 bytes"],
  ])('refuses %s=%s with one log line saying what to fix, exit code 1 and no stack trace', async (name, value, message) => {
    const { code, output } = await refusal({ [name]: value });
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: expect.stringContaining(message) });
  });

  // A .env whose two lines ran together gives a variable the next one's line: the refusal printed the key.
  it.each(['PORT', 'LOG_LEVEL'])('refuses a %s that runs into the next line of a .env without printing the key there', async (name) => {
    const key = fakeProviderKey('openai');
    const { code, output } = await refusal({ [name]: `8000OPENAI_API_KEY=${key}` });
    expect([code, JSON.parse(output.trim()).msg]).toEqual([1, expect.stringMatching(new RegExp(`^${name} must be`))]);
    expect(findKeyLeaks([key], [['output', output]])).toEqual([]);
  });

  it('refuses a port already taken with a log line naming EADDRINUSE, exit code 1 and no stack trace', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    try {
      const { code, output } = await refusal({ PORT: String((taken.address() as AddressInfo).port) });
      expect(code).toBe(1);
      const lines = output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      expect(lines.at(-1)).toMatchObject({ level: 60, msg: expect.stringContaining('EADDRINUSE') });
    } finally {
      taken.close();
    }
  });

  it('warns, naming the variable and not its value, when it ignores a placeholder system key', async () => {
    const output = await start({ OPENAI_API_KEY: 'sk-YOUR-KEY-HERE' });
    expect(output).toMatch(/"level":40,.*OPENAI_API_KEY holds a placeholder, not a key: ignored/);
    expect(output).not.toContain('sk-YOUR-KEY-HERE');
  });

  // Its bearer tokens are public (this README and the start's own log name them), one of them an admin's: listening on
  // every interface, anyone who could reach the port could chat on the operator's system key and act as admin.
  it('listens on the loopback interface only unless HOST says otherwise, and says where', async () => {
    const listening = (output: string) =>
      output
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; address?: string })
        .find((line) => line.msg.includes('listening on'))!;
    const loopback = listening(await start({}));
    expect(loopback.address).toBe('127.0.0.1');
    expect(loopback.msg).toContain('http://localhost:');
    const everywhere = listening(await start({ HOST: '0.0.0.0' }));
    expect(everywhere.address).toBe('0.0.0.0');
  });

  it('on loopback, refuses with 403 a request for another name (a web page pointing its own name at 127.0.0.1), and with HOST=0.0.0.0 does not', async () => {
    const statusFor = async (output: string, host: string) => {
      const port = Number(/localhost:(\d+)\/v2/.exec(output)![1]);
      return new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          { port, host: '127.0.0.1', path: '/v2/llm-models/', headers: { host, authorization: 'Bearer demo-user-token' } },
          (response) => resolve(response.resume().statusCode!),
        );
        request.once('error', reject).end();
      });
    };
    const loopback = await start({});
    expect(await statusFor(loopback, 'rebound.attacker.example')).toBe(403);
    expect(await statusFor(loopback, 'localhost')).toBe(200);
    expect(await statusFor(await start({ HOST: '0.0.0.0' }), 'example.com')).toBe(200);
  });

  it('logs each line as JSON with its level, as the Express and Fastify examples do', async () => {
    const lines = (await start({ BYOKIT_MOCK_PROVIDERS: '1' })).trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number), msg: expect.any(String) });
    expect(lines.join('\n')).toContain('BYOKIT_MOCK_PROVIDERS is on');
  });
});
