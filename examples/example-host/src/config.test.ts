import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_KEY_VARIABLES, PROVIDERS } from '@byokit/core';
import { BASE_URL_VARIABLES, configFromEnvironment } from './config.js';

describe('the data folder the example server uses', () => {
  it('is .byokit where npm start was typed when BYOKIT_DATA_DIR is unset or empty, as an empty PORT is the default', () => {
    // Before, an empty BYOKIT_DATA_DIR (a `BYOKIT_DATA_DIR=` line in a .env or compose file) made the folder npm start
    // was typed in the data folder: the keyring and token secret written beside the project's files.
    for (const environment of [{ INIT_CWD: '/srv/app' }, { INIT_CWD: '/srv/app', BYOKIT_DATA_DIR: '' }]) {
      expect(configFromEnvironment(environment).dataDirectory).toBe(join('/srv/app', '.byokit'));
    }
  });

  it('resolves a relative BYOKIT_DATA_DIR against the folder npm start was typed in', () => {
    expect(configFromEnvironment({ INIT_CWD: '/srv/app', BYOKIT_DATA_DIR: 'var/byokit' }).dataDirectory).toBe('/srv/app/var/byokit');
    expect(configFromEnvironment({ INIT_CWD: '/srv/app', BYOKIT_DATA_DIR: '/data/byokit' }).dataDirectory).toBe('/data/byokit');
  });
});

describe("the READMEs' configuration tables", () => {
  // Written by hand beside PROVIDERS, a table stays three providers long without a word when a fourth is added.
  it.each(['../../../README.md', '../../hono-server/README.md'])(
    '%s names the system key variable and the base URL variable of every provider',
    (readme) => {
      const variables = readFileSync(new URL(readme, import.meta.url), 'utf8')
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((row) => [...row.split('|')[1]!.matchAll(/`([A-Z0-9_]+)`/g)].map((match) => match[1]));
      for (const provider of PROVIDERS) {
        expect(variables).toContain(DEFAULT_SYSTEM_KEY_VARIABLES[provider]);
        expect(variables).toContain(BASE_URL_VARIABLES[provider]);
      }
    },
  );
});
