import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { SYSTEM_OWNER, generateKeyringEntry } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { configFromEnvironment } from '../config.js';
import type { ExampleServer } from './example-server.js';

/** Starts the example on an existing data folder (and database), as a restart would. */
async function start(example: ExampleServer, environment: Record<string, string>) {
  const parts = await example.listen(
    configFromEnvironment({ PORT: '0', FIRST_SUPERUSER_PASSWORD: 'admin-password-for-tests', ...environment }),
    pino({ level: 'silent' }),
  );
  return { ...parts, base: `http://127.0.0.1:${parts.port}/v2` };
}

async function login(base: string, username: string, password: string) {
  const response = await fetch(`${base}/login/access-token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }),
  });
  expect(response.status).toBe(200);
  return { authorization: `Bearer ${((await response.json()) as { access_token: string }).access_token}` };
}

/** Signs up `email`, who saves a personal Anthropic key (200). */
async function signUpWithAnthropicKey(base: string, email: string) {
  await fetch(`${base}/users/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'a-long-password' }),
  });
  const saved = await fetch(`${base}/users/me/api-key`, {
    method: 'PATCH',
    headers: { ...(await login(base, email, 'a-long-password')), 'content-type': 'application/json' },
    body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
  });
  expect(saved.status).toBe(200);
}

/** Starts the example, and expects the user's Anthropic key to be there and to open: what a restart must keep. */
async function expectKeyKept(example: ExampleServer, environment: Record<string, string>, email: string) {
  const server = await start(example, environment);
  try {
    const status = await (
      await fetch(`${server.base}/users/me/api-key-status`, { headers: await login(server.base, email, 'a-long-password') })
    ).json();
    expect(status).toMatchObject({ has_anthropic_key: true });
  } finally {
    await server.stop();
  }
}

/** Everything the example keeps survives a stop and a start, on PGlite and (with DATABASE_URL) a real PostgreSQL. */
export function describeRestart(example: ExampleServer): void {
  const databases: Array<[string, () => Promise<Record<string, string>>]> = [['the embedded database (PGlite)', async () => ({})]];
  const databaseUrl = process.env.DATABASE_URL;
  const schemas: string[] = [];
  if (databaseUrl) {
    databases.push([
      'a real PostgreSQL (DATABASE_URL)',
      async () => {
        const schema = `example_restart_${randomBytes(5).toString('hex')}`;
        schemas.push(schema);
        return { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema };
      },
    ]);
  }
  afterAll(async () => {
    if (!databaseUrl || schemas.length === 0) return;
    const pool = new pg.Pool({ connectionString: databaseUrl });
    for (const schema of schemas) await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  });

  describe.each(databases)('the example server keeps everything across a restart, on %s', (_name, database) => {
    it('users, personal keys, system keys and the audit trail survive a stop and a start', async () => {
      const environment = { BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-restart-')), ...(await database()) };
      const personal = fakeProviderKey('anthropic');
      const system = fakeProviderKey('openai');

      const first = await start(example, environment);
      await fetch(`${first.base}/users/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'restart@example.com', password: 'a-long-password' }),
      });
      const user = await login(first.base, 'restart@example.com', 'a-long-password');
      const admin = await login(first.base, 'admin@example.com', 'admin-password-for-tests');
      const json = { 'content-type': 'application/json' };
      expect(
        (
          await fetch(`${first.base}/users/me/api-key`, {
            method: 'PATCH',
            headers: { ...user, ...json },
            body: JSON.stringify({ anthropic_api_key: personal }),
          })
        ).status,
      ).toBe(200);
      expect(
        (
          await fetch(`${first.base}/admin/api-key`, {
            method: 'PATCH',
            headers: { ...admin, ...json },
            body: JSON.stringify({ openai_api_key: system }),
          })
        ).status,
      ).toBe(200);
      const auditBefore = await first.storage.listAudit({ limit: 100 });
      await first.stop();

      const second = await start(example, environment);
      try {
        const again = await login(second.base, 'restart@example.com', 'a-long-password');
        const status = await (await fetch(`${second.base}/users/me/api-key-status`, { headers: again })).json();
        expect(status.keys.anthropic).toMatchObject({ configured: true, hint: `…${personal.slice(-4)}` });
        expect(status.keys.openai).toMatchObject({ configured: false, system_fallback: true });
        const userId = ((await (await fetch(`${second.base}/users/me`, { headers: again })).json()) as { id: string }).id;
        expect((await second.byokit.resolveKey({ userId }, 'anthropic')).key.reveal() === personal).toBe(true);
        expect((await second.byokit.resolveKey({ userId }, 'openai')).key.reveal() === system).toBe(true);
        expect((await second.storage.listKeys(SYSTEM_OWNER)).map((key) => key.provider)).toEqual(['openai']);
        expect(await second.storage.listAudit({ limit: 100 })).toEqual(auditBefore);
      } finally {
        await second.stop();
      }
    }, 60_000);

    it('refuses to start while a stored key is sealed by a key id the keyring lacks, and starts again in the same process with the keyring it needs', async () => {
      const environment = { BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-restart-')), ...(await database()) };
      const keyring = { BYOKIT_KEYRING: generateKeyringEntry('k1') };
      const first = await start(example, { ...environment, ...keyring });
      await signUpWithAnthropicKey(first.base, 'keeper@example.com');
      await first.stop();

      await expect(start(example, { ...environment, BYOKIT_KEYRING: generateKeyringEntry('k2') })).rejects.toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringContaining("1 stored key(s) are sealed with master key id 'k1', which the keyring lacks"),
      });

      // The refused start closed what it had opened: on PGlite, a folder lock still held by this process would
      // refuse this start.
      await expectKeyKept(example, { ...environment, ...keyring }, 'keeper@example.com');
    }, 60_000);

    it('honours BYOKIT_KEYRING_RETIRED: refuses to start while a stored key is sealed by a retired id, and starts once the keys are re-encrypted', async () => {
      const environment = { BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-restart-')), ...(await database()) };
      const k1 = generateKeyringEntry('k1');
      const first = await start(example, { ...environment, BYOKIT_KEYRING: k1 });
      await signUpWithAnthropicKey(first.base, 'retiree@example.com');
      await first.stop();

      // k1 retired before the re-encryption: the key sealed by it would no longer open, so the start is refused.
      const rotated = `${generateKeyringEntry('k2')},${k1}`;
      await expect(start(example, { ...environment, BYOKIT_KEYRING: rotated, BYOKIT_KEYRING_RETIRED: 'k1' })).rejects.toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringContaining("1 stored key(s) are sealed with master key id 'k1', which the keyring marks retired"),
      });

      const rotating = await start(example, { ...environment, BYOKIT_KEYRING: rotated });
      expect(await rotating.byokit.rotateKeys()).toMatchObject({ resealed: 1, failed: 0 });
      await rotating.stop();
      await expectKeyKept(example, { ...environment, BYOKIT_KEYRING: rotated, BYOKIT_KEYRING_RETIRED: 'k1' }, 'retiree@example.com');
    }, 60_000);

    it('after a rotation to a new key, a start whose keyring file lacks it says to put it first in that file, and starts once it is', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-restart-'));
      const environment = { BYOKIT_DATA_DIR: dataDirectory, ...(await database()) };
      // The first start generates the keyring file, k1; a user saves a key under it.
      const first = await start(example, environment);
      await signUpWithAnthropicKey(first.base, 'rotator@example.com');
      await first.stop();

      // The rotation (as byokit rotate-keys does it), with the new key given in BYOKIT_KEYRING only.
      const keyringPath = join(dataDirectory, 'keyring');
      const oldKeyring = readFileSync(keyringPath, 'utf8').trim();
      const rotated = `${generateKeyringEntry('k2')},${oldKeyring}`;
      const rotating = await start(example, { ...environment, BYOKIT_KEYRING: rotated });
      expect(await rotating.byokit.rotateKeys()).toMatchObject({ resealed: 1, failed: 0 });
      await rotating.stop();

      const refusal = await start(example, environment).catch((error: Error) => error);
      expect(refusal).toMatchObject({ code: 'keyring_invalid' });
      expect((refusal as Error).message).toContain(`sealed with master key id 'k2', which the keyring lacks`);
      expect((refusal as Error).message).toContain(`If you rotated the stored keys to a new master key, ${keyringPath} is out of date`);
      expect((refusal as Error).message).toContain('put the new key in it first, as primary');

      writeFileSync(keyringPath, `${rotated}\n`);
      await expectKeyKept(example, environment, 'rotator@example.com');
    }, 60_000);

    it('refuses to start when a step after byokit fails (an unreadable token secret), and starts again in the same process once it is fixed', async () => {
      const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-restart-'));
      const environment = { BYOKIT_DATA_DIR: dataDirectory, ...(await database()) };
      // A folder where the token-signing secret's file should be: read after byokit has started.
      mkdirSync(join(dataDirectory, 'jwt-secret'));
      await expect(start(example, environment)).rejects.toMatchObject({ code: 'EISDIR' });

      // The refused start closed byokit, and with it the storage: on PGlite, a folder lock still held by this
      // process would refuse this start.
      rmSync(join(dataDirectory, 'jwt-secret'), { recursive: true });
      const second = await start(example, environment);
      try {
        const health = await fetch(`${second.base}/openapi.json`);
        expect(health.status).toBe(200);
      } finally {
        await second.stop();
      }
    }, 60_000);
  });
}
