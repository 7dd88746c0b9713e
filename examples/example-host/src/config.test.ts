import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEM_KEY_VARIABLES, PROVIDERS } from '@byokit/core';
import { fakeProviderKey, findKeyLeaks } from '@byokit/core/testing';
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

// README "Configuration": the bounds each variable is held to, at their edges (the start-up tests try values far out).
describe('the settings at the edges of what README "Configuration" allows', () => {
  it('gives access tokens a day (1440 minutes) when ACCESS_TOKEN_EXPIRE_MINUTES is unset or empty', () => {
    for (const environment of [{}, { ACCESS_TOKEN_EXPIRE_MINUTES: '' }])
      expect(configFromEnvironment(environment).accessTokenMinutes).toBe(1440);
  });

  it('takes ACCESS_TOKEN_EXPIRE_MINUTES from 1 to 525600 (a year), and refuses 0 (tokens expired when issued) and 525601', () => {
    for (const minutes of [1, 525600])
      expect(configFromEnvironment({ ACCESS_TOKEN_EXPIRE_MINUTES: String(minutes) }).accessTokenMinutes).toBe(minutes);
    for (const minutes of ['0', '525601']) {
      expect(() => configFromEnvironment({ ACCESS_TOKEN_EXPIRE_MINUTES: minutes })).toThrow(/^ACCESS_TOKEN_EXPIRE_MINUTES must be/);
    }
  });

  it('takes PORT 65535, the last port there is, and refuses 65536', () => {
    expect(configFromEnvironment({ PORT: '65535' }).port).toBe(65535);
    expect(() => configFromEnvironment({ PORT: '65536' })).toThrow(/^PORT must be a port number/);
  });

  // A .env whose two lines ran together (an editor's join, a line written with `echo -n`) gives one variable the next
  // one's line: the refusal quoting the value, which `npm start` prints as its one line, printed the key.
  it.each(['PORT', 'ACCESS_TOKEN_EXPIRE_MINUTES', 'LOG_LEVEL', 'FIRST_SUPERUSER'])(
    'refuses, without quoting the key there, a %s that runs into the next line of a .env',
    (variable) => {
      const key = fakeProviderKey('anthropic');
      const failure = (() => {
        try {
          configFromEnvironment({ [variable]: `8000ANTHROPIC_API_KEY=${key}` });
        } catch (error) {
          return error as Error;
        }
      })();
      expect(failure?.message).toMatch(new RegExp(`^${variable} must be`));
      expect(findKeyLeaks([key], [['refusal', failure!.message]])).toEqual([]);
    },
  );

  it('takes a SECRET_KEY of 32 bytes, and refuses one of 31 without quoting it', () => {
    expect(configFromEnvironment({ SECRET_KEY: 's'.repeat(32) }).jwtSecret).toBe('s'.repeat(32));
    expect(() => configFromEnvironment({ SECRET_KEY: 's'.repeat(31) })).toThrow(/^SECRET_KEY must be at least 32 bytes(?!.*s{31})/);
  });
});
