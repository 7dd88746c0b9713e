import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fakeProviderKey } from '@byokit/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExampleServer } from './example-server.js';

const running: Array<ReturnType<typeof spawn>> = [];

function startServer(serverPath: string, environment: Record<string, string>) {
  const child = spawn(process.execPath, [serverPath], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  // `stop()` resolves once the process has exited: the next start on the same data folder needs its lock.
  const stop = () =>
    new Promise<void>((resolve) => (child.exitCode === null ? child.once('exit', () => resolve()).kill('SIGTERM') : resolve()));
  const listening = new Promise<{ port: number; output: () => string; stop: () => Promise<void> }>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const port = /"port":(\d+)/.exec(output)?.[1];
      if (port) resolve({ port: Number(port), output: () => output, stop });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) => reject(Object.assign(new Error(`server exited with ${code}`), { code, output })));
  });
  return listening;
}

/** Signs up (unless `signUp` is false) and logs in one user, the guide's way; resolves with the access token. */
async function signUpAndLogIn(port: number, signUp = true): Promise<string> {
  const credentials = { email: 'keeper@example.com', password: 'a long enough password' };
  if (signUp) {
    const created = await fetch(`http://127.0.0.1:${port}/v2/users/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    });
    expect(created.status).toBe(200);
  }
  const login = await fetch(`http://127.0.0.1:${port}/v2/login/access-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: credentials.email, password: credentials.password }),
  });
  expect(login.status).toBe(200);
  return ((await login.json()) as { access_token: string }).access_token;
}

/** The built server, started as `npm start` starts it (`node dist/server.js`), on a free port. */
export function describeServerStart(example: ExampleServer): void {
  afterEach(() => running.splice(0).forEach((child) => child.kill('SIGTERM')));

  describe('the example server as npm start runs it', () => {
    it('generates a keyring once into the data folder, mode 0600, with a loud notice, and reuses it', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const first = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      expect(first.output()).toContain('NO BYOKIT_KEYRING SET');
      const keyringPath = join(dataDirectory, 'keyring');
      expect(statSync(keyringPath).mode & 0o777).toBe(0o600);
      const keyring = readFileSync(keyringPath, 'utf8');
      expect(first.output()).not.toContain(keyring.trim().split(':')[1]!);

      const status = await fetch(`http://127.0.0.1:${first.port}/v2/users/me/api-key-status`);
      expect(status.status).toBe(401);
      running.pop()!.kill('SIGTERM');

      const second = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      expect(second.output()).not.toContain('NO BYOKIT_KEYRING SET');
      expect(readFileSync(keyringPath, 'utf8')).toBe(keyring);
    });

    it("prints the first admin's password once when FIRST_SUPERUSER_PASSWORD is not set, and it works", async () => {
      const { port, output } = await startServer(example.serverPath, { BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-start-')) });
      const password = /with the password (\S+) \(shown this once\)/.exec(output())?.[1];
      expect(password).toBeDefined();
      const login = await fetch(`http://127.0.0.1:${port}/v2/login/access-token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: 'admin@example.com', password: password! }),
      });
      expect(login.status).toBe(200);
    });

    it.each([
      ['a key of the wrong length', 'k1:AAAA'],
      ['a low-entropy key', `k1:${Buffer.alloc(32).toString('base64url')}`],
      [
        'duplicate ids',
        `k1:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')},k1:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`,
      ],
    ])('refuses to start with %s in BYOKIT_KEYRING, saying what to fix, before creating a database', async (_name, keyring) => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, BYOKIT_KEYRING: keyring }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { output: string }).output).toMatch(/BYOKIT_KEYRING|keyring/);
      expect((failure as { output: string }).output).toContain('keyring_invalid');
      expect(readdirSync(dataDirectory)).toEqual([]);
    });

    // Its own limit: three starts, the first creating the database, took 9 s alone and 31–35 s beside every other
    // suite on 2 cores.
    it('refuses to start while a stored key is sealed by a key id the keyring lacks, releases the data folder, and starts again with the keyring it needs', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const keyring = `k1:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;
      const otherKeyring = `k2:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')}`;
      const first = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, BYOKIT_KEYRING: keyring });
      const token = await signUpAndLogIn(first.port);
      const saved = await fetch(`http://127.0.0.1:${first.port}/v2/users/me/api-key`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
      });
      expect(saved.status).toBe(200);
      await first.stop();

      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, BYOKIT_KEYRING: otherKeyring }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { output: string }).output).toContain(
        "1 stored key(s) are sealed with master key id 'k1', which the keyring lacks",
      );
      expect(existsSync(join(dataDirectory, 'pgdata.lock'))).toBe(false);

      const again = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, BYOKIT_KEYRING: keyring });
      const status = await fetch(`http://127.0.0.1:${again.port}/v2/users/me/api-key-status`, {
        headers: { authorization: `Bearer ${await signUpAndLogIn(again.port, false)}` },
      });
      expect(await status.json()).toMatchObject({ has_anthropic_key: true });
    }, 120_000);
  });
}
