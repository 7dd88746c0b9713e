// Starts an example server on a free port for tests, with its own data folder and a log captured in memory.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { configFromEnvironment } from '../config.js';
import type { ExampleServer } from './example-server.js';

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-for-tests';

export async function startTestServer(example: ExampleServer, environment: Record<string, string> = {}) {
  const logLines: string[] = [];
  const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) }));
  const config = configFromEnvironment({
    PORT: '0',
    BYOKIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'byokit-test-')),
    FIRST_SUPERUSER: ADMIN_EMAIL,
    FIRST_SUPERUSER_PASSWORD: ADMIN_PASSWORD,
    // Offline: chat answers come from byokit's mock providers, which record what they received.
    BYOKIT_MOCK_PROVIDERS: '1',
    ...environment,
  });
  const parts = await example.listen(config, logger);
  const base = `http://127.0.0.1:${parts.port}/v2`;

  /** Signs up (unless it is the admin) and logs in; returns the bearer token. */
  async function login(email: string, password = 'a-long-password') {
    if (email !== ADMIN_EMAIL) {
      await fetch(`${base}/users/signup`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
    }
    const response = await fetch(`${base}/login/access-token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: email, password }),
    });
    return ((await response.json()) as { access_token: string }).access_token;
  }

  return { ...parts, base, logLines, login };
}
