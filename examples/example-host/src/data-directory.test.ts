import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { jwtSecret } from './data-directory.js';

const silent = pino({ level: 'silent' });

// The data folder's jwt-secret is held to SECRET_KEY's rule (config.ts): at least 32 bytes, HS256's hash length.
describe("the data folder's token secret", () => {
  it('is taken at 32 bytes, and refused at 31, as SECRET_KEY is', () => {
    const folderWith = (secret: string) => {
      const folder = mkdtempSync(join(tmpdir(), 'byokit-secret-'));
      writeFileSync(join(folder, 'jwt-secret'), `${secret}\n`, { mode: 0o600 });
      return folder;
    };
    expect(jwtSecret(folderWith('s'.repeat(32)), undefined, silent)).toHaveLength(32);
    expect(() => jwtSecret(folderWith('s'.repeat(31)), undefined, silent)).toThrow(/jwt-secret must hold at least 32 bytes/);
  });
});
