import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '@byokit/core/testing';
import type { ExampleServer } from './example-server.js';

const running: Array<ReturnType<typeof spawn>> = [];

function startServer(serverPath: string, environment: Record<string, string>) {
  const child = spawn(process.execPath, [serverPath], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'info', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  const listening = new Promise<{ port: number; output: () => string }>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const port = /"port":(\d+)/.exec(output)?.[1];
      if (port) resolve({ port: Number(port), output: () => output });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) => reject(Object.assign(new Error(`server exited with ${code}`), { code, output })));
  });
  return listening;
}

/** Stops the server started last and waits for it to exit, so that its database folder is free again. */
async function stopLast() {
  const child = running.pop()!;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function logIn(port: number, username: string, password: string) {
  return fetch(`http://127.0.0.1:${port}/v2/login/access-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }),
  });
}

/** The system keys' status, as the first admin (logged in with `password`) sees it. */
async function systemKeyStatus(port: number, password: string) {
  const login = await logIn(port, 'admin@example.com', password);
  expect(login.status).toBe(200);
  const { access_token } = (await login.json()) as { access_token: string };
  const status = await fetch(`http://127.0.0.1:${port}/v2/admin/api-key-status`, { headers: { authorization: `Bearer ${access_token}` } });
  return (await status.json()) as {
    keys: Record<string, { configured: boolean; source: string | null; hint?: string; verification?: string }>;
  };
}

/** The built server, started as `npm start` starts it (`node dist/server.js`), on a free port. */
export function describeServerStart(example: ExampleServer): void {
  afterEach(() => running.splice(0).forEach((child) => child.kill('SIGTERM')));

  describe('the example server as npm start runs it', () => {
    it('generates a keyring once into the data folder, mode 0600, with a loud notice saying to set BYOKIT_KEYRING for several servers, and reuses it', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const first = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      const keyringPath = join(dataDirectory, 'keyring');
      const notice = first
        .output()
        .split('\n')
        .find((line) => line.includes('NO BYOKIT_KEYRING SET'));
      // Servers sharing one DATABASE_URL each generate their own, and cannot open the keys the others stored.
      expect(JSON.parse(notice!)).toMatchObject({ level: 40, path: keyringPath, msg: expect.stringContaining('the same on every server') });
      expect(statSync(keyringPath).mode & 0o777).toBe(0o600);
      const keyring = readFileSync(keyringPath, 'utf8');
      expect(first.output()).not.toContain(keyring.trim().split(':')[1]!);

      const status = await fetch(`http://127.0.0.1:${first.port}/v2/users/me/api-key-status`);
      expect(status.status).toBe(401);
      // The second start opens the same embedded database: the first must have closed it and exited.
      await stopLast();

      const second = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      expect(second.output()).not.toContain('NO BYOKIT_KEYRING SET');
      expect(readFileSync(keyringPath, 'utf8')).toBe(keyring);
    });

    // The secret was generated without a word: servers sharing one DATABASE_URL each made their own, and a token from
    // one was refused by the next (a 401 behind a load balancer), as every token was after a redeploy that did not keep
    // the data folder, with nothing saying why.
    it('generates the token-signing secret once into the data folder, mode 0600, saying to set SECRET_KEY for several servers; none with SECRET_KEY', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const first = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      const secretPath = join(dataDirectory, 'jwt-secret');
      expect(statSync(secretPath).mode & 0o777).toBe(0o600);
      const notice = first
        .output()
        .split('\n')
        .find((line) => line.includes('NO SECRET_KEY SET'));
      expect(JSON.parse(notice!)).toMatchObject({ level: 40, path: secretPath, msg: expect.stringContaining('set SECRET_KEY') });
      expect(first.output()).not.toContain(readFileSync(secretPath, 'utf8').trim());
      await stopLast();

      const second = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      expect(second.output()).not.toContain('NO SECRET_KEY SET');
      await stopLast();

      const chosen = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const third = await startServer(example.serverPath, {
        BYOKIT_DATA_DIR: chosen,
        SECRET_KEY: 'a-secret-key-of-at-least-32-bytes-long',
      });
      expect(third.output()).not.toContain('NO SECRET_KEY SET');
      expect(readdirSync(chosen)).not.toContain('jwt-secret');
      // Three starts on an embedded database, one after another: 14 s on an idle machine, over the suite's 60 s once
      // with every package's tests running beside it.
    }, 180_000);

    // docker stop and systemd stop a server with SIGTERM: the server and its embedded database are closed, not cut off.
    it('stops on SIGTERM by closing the server and its database, with exit code 0', async () => {
      await startServer(example.serverPath, { BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-start-')) });
      const child = running.pop()!;
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
    });

    it("prints the first admin's password once when FIRST_SUPERUSER_PASSWORD is not set, and it works", async () => {
      const { port, output } = await startServer(example.serverPath, { BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-start-')) });
      const password = /with the password (\S+) \(shown this once\)/.exec(output())?.[1];
      expect(password).toBeDefined();
      expect((await logIn(port, 'admin@example.com', password!)).status).toBe(200);
    });

    it('shows no password when the port is taken, and the next start creates the admin and shows one that works', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const taken = createServer();
      await new Promise<void>((resolve) => taken.listen(0, resolve));
      try {
        const port = String((taken.address() as AddressInfo).port);
        const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, PORT: port }).catch(
          (error: { code: number; output: string }) => error,
        );
        expect(failure).toMatchObject({ code: 1, output: expect.stringContaining('EADDRINUSE') });
        expect((failure as { output: string }).output).not.toContain('password');
      } finally {
        taken.close();
      }

      const { port, output } = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      const password = /with the password (\S+) \(shown this once\)/.exec(output())?.[1];
      expect(password).toBeDefined();
      expect((await logIn(port, 'admin@example.com', password!)).status).toBe(200);
    });

    it('says at start that FIRST_SUPERUSER_PASSWORD changes nothing when the admin already has another password', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, FIRST_SUPERUSER_PASSWORD: 'the-first-password' });
      await stopLast();

      const { port, output } = await startServer(example.serverPath, {
        BYOKIT_DATA_DIR: dataDirectory,
        FIRST_SUPERUSER_PASSWORD: 'another-password',
      });
      expect(output()).toMatch(/FIRST_SUPERUSER_PASSWORD is set, but admin@example.com already exists with another password/);
      expect(output()).not.toContain('the-first-password');
      expect(output()).not.toContain('another-password');
      expect((await logIn(port, 'admin@example.com', 'the-first-password')).status).toBe(200);
    });

    it('does not make an admin of a user who signed up with the FIRST_SUPERUSER email, and says so at start', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const first = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, FIRST_SUPERUSER_PASSWORD: 'admin-password' });
      const signup = await fetch(`http://127.0.0.1:${first.port}/v2/users/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'early@example.com', password: 'early-password' }),
      });
      expect(signup.status).toBe(200);
      await stopLast();

      const { port, output } = await startServer(example.serverPath, {
        BYOKIT_DATA_DIR: dataDirectory,
        FIRST_SUPERUSER: 'early@example.com',
        FIRST_SUPERUSER_PASSWORD: 'another-password',
      });
      expect(output()).toMatch(/FIRST_SUPERUSER is early@example.com, a user who signed up and is not an admin: not made one/);
      expect(output()).not.toContain('another-password');
      const login = await logIn(port, 'early@example.com', 'early-password');
      const { access_token } = (await login.json()) as { access_token: string };
      const adminRoute = await fetch(`http://127.0.0.1:${port}/v2/admin/api-key-status`, {
        headers: { authorization: `Bearer ${access_token}` },
      });
      expect(adminRoute.status).toBe(403);
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

    it.each([
      ['PORT', 'abc', 'PORT must be a port number'],
      ['PORT', '70000', 'PORT must be a port number'],
      ['LOG_LEVEL', 'loud', 'LOG_LEVEL must be one of'],
      ['ACCESS_TOKEN_EXPIRE_MINUTES', '-5', 'ACCESS_TOKEN_EXPIRE_MINUTES must be'],
      // Taken before: 0.001 issued tokens already expired (every login worked, every token was then refused),
      // and 1e20 made every login a 500 (jose cannot read '6e+21s' as a lifetime).
      ['ACCESS_TOKEN_EXPIRE_MINUTES', '0.001', 'ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number of minutes from 1 to 525600'],
      ['ACCESS_TOKEN_EXPIRE_MINUTES', '1e20', 'ACCESS_TOKEN_EXPIRE_MINUTES must be a whole number of minutes from 1 to 525600'],
      ['SECRET_KEY', 'too-short', 'SECRET_KEY must be at least 32 bytes'],
    ])('refuses %s=%s with one log line saying what to fix, exit code 1 and no stack trace', async (name, value, message) => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, [name]: value }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1 });
      const lines = (failure as { output: string }).output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, msg: expect.stringContaining(message) });
      expect(lines[0]).not.toMatch(/\n\s+at |\.js:\d+/);
      expect(readdirSync(dataDirectory)).toEqual([]);
    });

    // The first admin is held to the rules signup and login hold every user to. Taken before: a password over 128
    // characters (`openssl rand -base64 100`, say) created an admin whom login then refused (422) on every try,
    // and one under 8, or an email signup would refuse, an admin no user could have been.
    it.each([
      [
        'a FIRST_SUPERUSER_PASSWORD of 129 characters',
        'FIRST_SUPERUSER_PASSWORD',
        'p'.repeat(129),
        'FIRST_SUPERUSER_PASSWORD must be 8 to 128',
      ],
      ['a FIRST_SUPERUSER_PASSWORD of 5 characters', 'FIRST_SUPERUSER_PASSWORD', 'admin', 'FIRST_SUPERUSER_PASSWORD must be 8 to 128'],
      ['a FIRST_SUPERUSER that is no email', 'FIRST_SUPERUSER', 'admin', 'FIRST_SUPERUSER must be an email address'],
      [
        'a FIRST_SUPERUSER of 262 characters',
        'FIRST_SUPERUSER',
        `${'a'.repeat(250)}@example.com`,
        'FIRST_SUPERUSER must be an email address',
      ],
    ])('refuses %s, saying so, before creating a database', async (_case, name, value, message) => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, [name]: value }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1, output: expect.stringContaining(message) });
      if (name === 'FIRST_SUPERUSER_PASSWORD') expect((failure as { output: string }).output).not.toContain(value);
      expect(readdirSync(dataDirectory)).toEqual([]);
    });

    it('creates a first admin who can log in with a FIRST_SUPERUSER_PASSWORD of 128 characters, under an email given with capitals and spaces', async () => {
      const password = 'p'.repeat(127) + 'é';
      const { port } = await startServer(example.serverPath, {
        BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-start-')),
        FIRST_SUPERUSER: ' Boss@Example.com ',
        FIRST_SUPERUSER_PASSWORD: password,
      });
      expect((await logIn(port, 'boss@example.com', password)).status).toBe(200);
    });

    it('refuses to start when its keyring file was lost and generated again while keys are stored, and starts once the file is back', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const keyringPath = join(dataDirectory, 'keyring');
      const first = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, FIRST_SUPERUSER_PASSWORD: 'admin-password' });
      const login = await logIn(first.port, 'admin@example.com', 'admin-password');
      const { access_token } = (await login.json()) as { access_token: string };
      const keys = { anthropic_api_key: fakeProviderKey('anthropic'), openai_api_key: fakeProviderKey('openai') };
      const saved = await fetch(`http://127.0.0.1:${first.port}/v2/admin/api-key`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify(keys),
      });
      expect(saved.status).toBe(200);
      await stopLast();
      const backup = readFileSync(keyringPath, 'utf8');

      // The file is lost: the next start generates a new keyring under the same id, k1. Before, it started, and every
      // stored key answered key_unreadable, to be entered again under the new key (and lost once the backup was back).
      rmSync(keyringPath);
      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({
        code: 1,
        output: expect.stringContaining("The keyring's master key 'k1' is not the key that sealed the stored keys under 'k1'"),
      });
      expect((failure as { output: string }).output).toContain("Put back the key 'k1' had when they were sealed");
      expect((failure as { output: string }).output).not.toContain(keys.openai_api_key.slice(-12));

      writeFileSync(keyringPath, backup, { mode: 0o600 });
      const again = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory });
      const status = await systemKeyStatus(again.port, 'admin-password');
      expect(status.keys.openai).toMatchObject({ configured: true, source: 'database', verification: 'unverified' });
    });

    // An empty file is what a first start that ran out of disk space leaves (the file is created, then written).
    it('refuses to start with an empty keyring file in the data folder, naming that file, and leaves it for the backup to replace', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      writeFileSync(join(dataDirectory, 'keyring'), '', { mode: 0o600 });
      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({
        code: 1,
        output: expect.stringContaining(`The keyring file ${join(dataDirectory, 'keyring')} is empty`),
      });
      // Before, it said BYOKIT_KEYRING was not set, to someone who had never set it.
      expect((failure as { output: string }).output).not.toContain('BYOKIT_KEYRING is not set');
      expect(readFileSync(join(dataDirectory, 'keyring'), 'utf8')).toBe('');
    });

    it('refuses to start with a token secret file in the data folder shorter than 32 bytes, as it refuses such a SECRET_KEY', async () => {
      for (const secret of ['', 'changethis\n']) {
        const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
        writeFileSync(join(dataDirectory, 'jwt-secret'), secret, { mode: 0o600 });
        // Before, the server started: with an empty secret every login was a 500, with a short one tokens could be forged.
        const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory }).catch(
          (error: { code: number; output: string }) => error,
        );
        expect(failure).toMatchObject({
          code: 1,
          output: expect.stringContaining(`${join(dataDirectory, 'jwt-secret')} must hold at least 32 bytes`),
        });
        expect((failure as { output: string }).output).not.toContain('changethis');
      }
    });

    // Before, both said only "The database is unavailable; try again shortly.", the words byokit gives an HTTP client.
    it.each([
      ['a server that refuses the connection', 'postgres://byokit:s3cret-pass@127.0.0.1:1/byokit', 'connect ECONNREFUSED 127.0.0.1:1'],
      ['a host that does not exist', 'postgres://byokit:s3cret-pass@no-such-host.invalid/byokit', 'no-such-host.invalid'],
      // A password of one character is not taken out of the reason wherever that character stands: the CLI learnt
      // that "try again shortly" with the password `y` printed as "tr*** again shortl***" (docs/security.md).
      [
        'a server that refuses the connection, with a short password',
        'postgres://byokit:1@127.0.0.1:1/byokit',
        'connect ECONNREFUSED 127.0.0.1:1',
      ],
    ])('refuses to start on a DATABASE_URL naming %s, saying why, without its password', async (_name, url, reason) => {
      const failure = await startServer(example.serverPath, {
        BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-start-')),
        DATABASE_URL: url,
      }).catch((error: { code: number; output: string }) => error);
      expect(failure).toMatchObject({ code: 1, output: expect.stringContaining('DATABASE_URL') });
      expect((failure as { output: string }).output).toContain(reason);
      expect((failure as { output: string }).output).not.toContain('s3cret-pass');
    });

    // PGlite writes the database's files with mode 0666, whatever the umask: in a data folder others may enter, any
    // local user could read the password hashes and rewrite the tables. PostgreSQL refuses such a data directory too.
    it.skipIf(process.platform === 'win32')(
      'refuses to start the embedded database in a data folder other users may enter, saying to chmod 700 it, before creating anything',
      async () => {
        const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
        chmodSync(dataDirectory, 0o755);
        const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory }).catch(
          (error: { code: number; output: string }) => error,
        );
        expect(failure).toMatchObject({ code: 1, output: expect.stringContaining(`chmod 700 ${dataDirectory}`) });
        expect(readdirSync(dataDirectory)).toEqual([]);

        chmodSync(dataDirectory, 0o700);
        const { port } = await startServer(example.serverPath, {
          BYOKIT_DATA_DIR: dataDirectory,
          FIRST_SUPERUSER_PASSWORD: 'admin-password',
        });
        expect((await logIn(port, 'admin@example.com', 'admin-password')).status).toBe(200);
      },
    );

    // Before, these printed only Node's words for the failed mkdir ("EEXIST: file already exists, mkdir '…'", "ENOENT:
    // no such file or directory, mkdir '…'" for a symlink to a folder since removed), naming no setting.
    it.skipIf(process.platform === 'win32').each([
      ['a file', (path: string) => writeFileSync(path, 'not a folder\n')],
      ['a symlink to a folder that no longer exists', (path: string) => symlinkSync(`${path}-removed`, path)],
    ])('refuses to start with a data folder that is %s, saying so and naming BYOKIT_DATA_DIR', async (_case, make) => {
      const dataDirectory = join(mkdtempSync(join(tmpdir(), 'byokit-start-')), 'data');
      make(dataDirectory);
      const environments: Array<Record<string, string>> = [{}, { DATABASE_URL: 'postgres://byokit:s3cret-pass@127.0.0.1:1/byokit' }];
      for (const environment of environments) {
        const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, ...environment }).catch(
          (error: { code: number; output: string }) => error,
        );
        expect(failure).toMatchObject({ code: 1 });
        const lines = (failure as { output: string }).output.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!).msg).toMatch(`The data folder ${dataDirectory} (BYOKIT_DATA_DIR) is not a folder`);
      }
    });

    // HS256 wants a key at least as long as its hash (RFC 7518 §3.2): a short one can be guessed offline.
    it("takes system keys from a .env file in the folder npm start was typed in (the guide's .env route), the environment winning", async () => {
      const folder = mkdtempSync(join(tmpdir(), 'byokit-dotenv-'));
      const anthropicKey = fakeProviderKey('anthropic');
      const openaiInFile = fakeProviderKey('openai');
      const openaiInEnvironment = fakeProviderKey('openai');
      writeFileSync(
        join(folder, '.env'),
        `# system keys, the guide's ".env file"\nANTHROPIC_API_KEY=${anthropicKey}\nOPENAI_API_KEY=${openaiInFile}\nFIRST_SUPERUSER_PASSWORD=password-from-dotenv\n`,
      );
      const { port, output } = await startServer(example.serverPath, {
        // npm sets INIT_CWD to the folder `npm start` was typed in, and runs the script in the workspace's.
        INIT_CWD: folder,
        BYOKIT_DATA_DIR: join(folder, 'data'),
        OPENAI_API_KEY: openaiInEnvironment,
      });
      const status = await systemKeyStatus(port, 'password-from-dotenv');
      expect(status.keys.anthropic).toMatchObject({ configured: true, source: 'environment', hint: `…${anthropicKey.slice(-4)}` });
      expect(status.keys.openai).toMatchObject({ configured: true, source: 'environment', hint: `…${openaiInEnvironment.slice(-4)}` });
      expect(status.keys.google).toMatchObject({ configured: false, source: null });
      // The start says which file it read and which variables it took from it, never their values.
      expect(output()).toContain(join(folder, '.env'));
      expect(output()).toContain('ANTHROPIC_API_KEY');
      expect(output()).not.toContain(anthropicKey.slice(13, 40));
      expect(output()).not.toContain('password-from-dotenv');
    });

    it('takes the first variable of a .env saved with a byte order mark and CRLF lines (Windows Notepad), and logs its name as written', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'byokit-dotenv-'));
      const anthropicKey = fakeProviderKey('anthropic');
      writeFileSync(join(folder, '.env'), `\uFEFFANTHROPIC_API_KEY=${anthropicKey}\r\nFIRST_SUPERUSER_PASSWORD=password-from-dotenv\r\n`);
      const { port, output } = await startServer(example.serverPath, { INIT_CWD: folder, BYOKIT_DATA_DIR: join(folder, 'data') });
      const status = await systemKeyStatus(port, 'password-from-dotenv');
      expect(status.keys.anthropic).toMatchObject({ configured: true, source: 'environment', hint: `…${anthropicKey.slice(-4)}` });
      const read = output()
        .split('\n')
        .filter((line) => line.includes('"variables"'))
        .map((line) => JSON.parse(line) as { variables: string[] });
      expect(read).toEqual([expect.objectContaining({ variables: ['ANTHROPIC_API_KEY', 'FIRST_SUPERUSER_PASSWORD'] })]);
      expect(output()).not.toContain(anthropicKey.slice(13, 40));
    });

    it('takes a .env written for a shell: "export NAME=", values in double or single quotes, comments after them', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'byokit-dotenv-'));
      const anthropicKey = fakeProviderKey('anthropic');
      const openaiKey = fakeProviderKey('openai');
      writeFileSync(
        join(folder, '.env'),
        `export ANTHROPIC_API_KEY="${anthropicKey}"  # the team's key\nOPENAI_API_KEY='${openaiKey}'\nexport FIRST_SUPERUSER_PASSWORD=password-from-dotenv # admin\n`,
      );
      const { port } = await startServer(example.serverPath, { INIT_CWD: folder, BYOKIT_DATA_DIR: join(folder, 'data') });
      const status = await systemKeyStatus(port, 'password-from-dotenv');
      expect(status.keys.anthropic).toMatchObject({ configured: true, source: 'environment', hint: `…${anthropicKey.slice(-4)}` });
      expect(status.keys.openai).toMatchObject({ configured: true, source: 'environment', hint: `…${openaiKey.slice(-4)}` });
    });

    it('skips a key written in .env as "NAME: key" (no "="), on every Node alike: logs no piece of it, reads the next line, says a line was not read', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'byokit-dotenv-'));
      const anthropicKey = fakeProviderKey('anthropic');
      // A quoted value over several lines: its lines without "=" are part of it, not lines left unread.
      writeFileSync(
        join(folder, '.env'),
        `ANTHROPIC_API_KEY: ${anthropicKey}\nOPENAI_API_KEY=${fakeProviderKey('openai')}\nGREETING="hello\nworld"\nGOOGLE_API_KEY=${fakeProviderKey('google')}\n`,
      );
      const { output } = await startServer(example.serverPath, { INIT_CWD: folder, BYOKIT_DATA_DIR: join(folder, 'data') });
      expect(output()).not.toContain(anthropicKey.slice(13, 40));
      const lines = output()
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { level: number; msg: string; variables?: string[] });
      expect(lines.find((line) => line.variables)?.variables?.toSorted()).toEqual(['GOOGLE_API_KEY', 'GREETING', 'OPENAI_API_KEY']);
      expect(lines).toContainEqual(
        expect.objectContaining({ level: 40, msg: expect.stringContaining(`${join(folder, '.env')}: 1 entry not read`) }),
      );
    });

    it('refuses to start when .env is a folder, in one line that names it and says it is not a file', async () => {
      const folder = mkdtempSync(join(tmpdir(), 'byokit-dotenv-'));
      mkdirSync(join(folder, '.env'));
      const failure = await startServer(example.serverPath, { INIT_CWD: folder, BYOKIT_DATA_DIR: join(folder, 'data') }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1 });
      const lines = (failure as { output: string }).output.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!).msg).toBe(`Could not read ${join(folder, '.env')}: it is a folder, not a file.`);
    });

    it('refuses to start with a SECRET_KEY shorter than 32 bytes, saying how to make one, before creating a database', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-start-'));
      const failure = await startServer(example.serverPath, { BYOKIT_DATA_DIR: dataDirectory, SECRET_KEY: 'changethis' }).catch(
        (error: { code: number; output: string }) => error,
      );
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { output: string }).output).toContain('SECRET_KEY must be at least 32 bytes');
      expect((failure as { output: string }).output).not.toContain('changethis');
      expect(readdirSync(dataDirectory)).toEqual([]);
    });
  });
}
