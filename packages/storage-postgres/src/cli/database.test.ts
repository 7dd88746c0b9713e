import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redactPasswords, withStorage } from './database.js';
import { errorMessage } from './output.js';

describe('the CLI keeps the database password out of what it prints', () => {
  it.each([
    [
      'in a connection URL',
      'cannot reach postgres://byokit:s3cr%40t@db:5432/app',
      ['s3cr%40t'],
      'cannot reach postgres://byokit:***@db:5432/app',
    ],
    [
      'in each connection URL a message quotes',
      'cannot reach postgres://byokit:pw@db-a/app, nor postgres://byokit:pw@db-b/app',
      ['pw'],
      'cannot reach postgres://byokit:***@db-a/app, nor postgres://byokit:***@db-b/app',
    ],
    ['as a password= parameter', "bad options: host=db password='p w' user=x", ['p w'], "bad options: host=db password='***' user=x"],
    ['in a URL query', 'postgres://db/app?password=hunter2&sslmode=require', ['hunter2'], 'postgres://db/app?password=***&sslmode=require'],
    [
      'standing alone, when 8 characters or more',
      'the server said: byokit-test-only is wrong',
      ['byokit-test-only'],
      'the server said: *** is wrong',
    ],
    ['standing alone, when 8 characters exactly', 'the server said: k7-vault is wrong', ['k7-vault'], 'the server said: *** is wrong'],
  ])('redacts it %s', (_where, message, secrets, redacted) => {
    expect(redactPasswords(message, secrets)).toBe(redacted);
  });

  it.each([
    ['y', 'The database is unavailable; try again shortly. (connect ECONNREFUSED 127.0.0.1:1)'],
    ['byokit', 'relation "byokit_keys" does not exist: run byokit migrate first'],
    ['admin', 'the server postgres://admin:***@db/app (schema public): permission denied for admin'],
    ['storage', 'the storage of 7 characters is not the password: storage'],
  ])('leaves the words of a message alone when the password is the short %j', (password, message) => {
    expect(redactPasswords(message, [password])).toBe(message);
  });

  it('takes a password with characters that mean something in a pattern as plain text', () => {
    expect(redactPasswords('postgres://u:a.b*c(d)@db/app and a.b*c(d)e', ['a.b*c(d)'])).toBe('postgres://u:***@db/app and a.b*c(d)e');
  });

  /** What `byokit` prints for a failure while `connectionString`'s server is open, the failure quoting `quoted`. */
  const printedFailure = async (connectionString: string, quoted: string) => {
    const failure = await withStorage({ 'database-url': connectionString }, { create: false }, async () => {
      throw new Error(`the server refused: ${quoted}`);
    }).catch((error: unknown) => error);
    return errorMessage(failure);
  };

  it('redacts the password of a connection URL in a failure, percent-encoded as given or decoded as a server may quote it', async () => {
    const url = 'postgres://byokit:pa%24%24-long-word@127.0.0.1:1/app';
    expect(await printedFailure(url, 'password pa%24%24-long-word')).toBe('the server refused: password ***');
    expect(await printedFailure(url, 'password pa$$-long-word')).toBe('the server refused: password ***');
  });
});

describe('a command that fails', () => {
  // The storage is closed in a `finally`: a close that failed as well (a database gone with the command's failure)
  // replaced the command's failure, and the user was told of the close, not of what went wrong.
  it('is reported as its own failure, not as a close that failed after it, and the storage is closed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'byokit-cli-'));
    const failure = await withStorage({ 'data-dir': dataDir }, { create: true }, async (opened) => {
      const close = opened.close;
      opened.close = () => close().then(() => Promise.reject(new Error('the close failed too')));
      throw new Error('the command failed');
    }).catch((error: unknown) => error);
    expect((failure as Error).message).toBe('the command failed');
    expect(existsSync(join(dataDir, 'pgdata.lock'))).toBe(false);
  });
});
