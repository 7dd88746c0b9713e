import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULT_SYSTEM_KEY_VARIABLES, generateKeyringEntry, PROVIDERS } from '@byokit/core';
import { startMockProviders } from '@byokit/core/mock-providers';
import { fakeProviderKey } from '@byokit/core/testing';
import { BASE_URL_VARIABLES, configFromEnvironment } from './config.js';
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

// README "Configuration": each provider SDK's own base URL variable sends that provider's calls there (a proxy, a
// gateway). Every provider's: one byokit knows and the example does not read is called on its public API.
describe.runIf(databaseUrl)("the providers' base URL variables (DATABASE_URL)", () => {
  const schema = `example_base_urls_${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  });

  it("sends each provider's calls to the URL in its SDK's variable", async () => {
    const mock = await startMockProviders();
    onTestFinished(() => mock.close());
    const config = configFromEnvironment({
      DATABASE_URL: databaseUrl,
      DATABASE_SCHEMA: schema,
      BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-base-urls-')),
      FIRST_SUPERUSER_PASSWORD: 'first-admin-password',
      ...Object.fromEntries(PROVIDERS.map((provider) => [DEFAULT_SYSTEM_KEY_VARIABLES[provider], fakeProviderKey(provider)])),
      ...Object.fromEntries(PROVIDERS.map((provider) => [BASE_URL_VARIABLES[provider], mock.baseUrls[provider]])),
    });
    const host = await createExampleHost(config, pino({ level: 'silent' }));
    onTestFinished(() => host.close());
    const listed = await host.byokit.handle({
      method: 'GET',
      url: '/llm-models/',
      headers: {},
      body: { kind: 'none' },
      authenticate: () => ({ userId: 'base-url-user', isAdmin: false }),
    });
    const models = JSON.parse(String(listed?.body)).data as Array<{ id: string; provider: string }>;
    for (const provider of PROVIDERS) {
      const model = models.find((candidate) => candidate.provider === provider)!;
      await host.byokit.chat({ userId: 'base-url-user' }, { model_id: model.id, messages: [{ role: 'user', content: 'Hello' }] });
    }
    expect(mock.requests.map((request) => request.provider)).toEqual([...PROVIDERS]);
  });
});

// The embedded database writes files anyone who enters its folder may read (the password hashes) or change: a folder
// its group may enter is refused as one everybody may, before anything is written in it.
describe.skipIf(process.platform === 'win32')('the data folder of the embedded database', () => {
  it.each([
    ['0750', 0o750],
    ['0705', 0o705],
  ])('is refused with mode %s, saying to chmod 700 it', async (_mode, mode) => {
    const dataDirectory = mkdtempSync(join(tmpdir(), 'byokit-mode-'));
    chmodSync(dataDirectory, mode);
    const config = configFromEnvironment({ BYOKIT_DATA_DIR: dataDirectory });
    await expect(createExampleHost(config, pino({ level: 'silent' }))).rejects.toThrow(`chmod 700 ${dataDirectory}`);
    expect(readdirSync(dataDirectory)).toEqual([]);
  });
});
