import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { generateKeyringEntry } from '@byokit/core';
import { configFromEnvironment } from './config.js';
import { createExampleHost, type ExampleHost } from './example-host.js';

const databaseUrl = process.env.DATABASE_URL;

// Two example servers behind one load balancer, on one PostgreSQL, each with a data folder of its own and the
// settings README "Configuration" says servers sharing a database need alike: SECRET_KEY and BYOKIT_KEYRING.
describe.runIf(databaseUrl)('two example servers on one PostgreSQL (DATABASE_URL)', () => {
  const schema = `example_nodes_${randomBytes(6).toString('hex')}`;
  const shared = {
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schema,
    SECRET_KEY: randomBytes(32).toString('base64url'),
    BYOKIT_KEYRING: generateKeyringEntry('k1'),
    FIRST_SUPERUSER_PASSWORD: 'first-admin-password',
  };
  afterAll(async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  async function startHost(): Promise<ExampleHost> {
    const config = configFromEnvironment({ ...shared, BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-node-')) });
    const host = await createExampleHost(config, pino({ level: 'silent' }));
    onTestFinished(() => host.close());
    return host;
  }

  it('both start when started together on a database neither has used, and a token one issues is taken by the other', async () => {
    const [a, b] = await Promise.all([startHost(), startHost()]);
    const signup = await a.routes.signup({ email: 'you@example.com', password: 'yourpassword' }, 'request-1');
    expect(signup.status).toBe(200);
    const login = await b.routes.login({ username: 'you@example.com', password: 'yourpassword' }, 'request-2');
    const token = (login.body as { access_token: string }).access_token;
    expect(await a.authenticate({ authorization: `Bearer ${token}` })).toEqual({
      userId: (signup.body as { id: string }).id,
      isAdmin: false,
    });
    // One first admin, whichever start created it.
    expect(await b.users.authenticate('admin@example.com', 'first-admin-password')).toMatchObject({ is_superuser: true });
  });
});
