import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnvironment } from './config.js';

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
