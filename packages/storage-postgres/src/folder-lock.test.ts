import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFolder } from './folder-lock.js';
import { embeddedPostgresStorage } from './index.js';

describe('an embedded database folder is opened by one process at a time', () => {
  it('refuses a second opening while the first is open, and allows it once closed', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    const first = await embeddedPostgresStorage({ dataDir });
    await expect(embeddedPostgresStorage({ dataDir })).rejects.toThrow(/open in process \d+ \(this one\)/);
    await first.close();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
    const second = await embeddedPostgresStorage({ dataDir });
    await second.close();
  });

  it("says, to a second opening in the same process (a dev server's reload), to close the first, never to delete the lock", async () => {
    // Deleting the lock of an opening still open in this process let a second PGlite open the same folder beside it,
    // which is what the lock is there to prevent: two writers corrupt the database.
    const dataDir = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    const first = await embeddedPostgresStorage({ dataDir });
    const refusal = await embeddedPostgresStorage({ dataDir }).then(
      () => expect.unreachable('a second opening'),
      (error: Error) => error.message,
    );
    await first.close();
    expect(refusal).toMatch(/open in process \d+ \(this one\)/);
    expect(refusal).not.toMatch(/delete/);
    expect(refusal).toContain('Close the storage that opened it first (byokit.close() closes it)');
  });

  it('opens each folder asked for when two are opened at once from one options object, changed between the calls', async () => {
    // Two tenants' storages opened together from one configuration object set for each in turn: `dataDir` was read
    // after the start's first wait, so both openings went to the second folder, and the first was refused as open.
    const root = mkdtempSync(join(tmpdir(), 'byokit-lock-'));
    const options = { dataDir: join(root, 'first'), migrate: false };
    const first = embeddedPostgresStorage(options);
    options.dataDir = join(root, 'second');
    const second = embeddedPostgresStorage(options);
    const opened = await Promise.allSettled([first, second]);
    const locks = [existsSync(join(root, 'first.lock')), existsSync(join(root, 'second.lock'))];
    await Promise.all(opened.map((each) => (each.status === 'fulfilled' ? each.value.close() : undefined)));

    expect({ opened: opened.map((each) => each.status), locks }).toEqual({ opened: ['fulfilled', 'fulfilled'], locks: [true, true] });
  });

  it('closes once: closing the first opening again leaves the next opening its lock', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    const first = await embeddedPostgresStorage({ dataDir });
    await first.close();
    const second = await embeddedPostgresStorage({ dataDir });
    await first.close();
    await expect(embeddedPostgresStorage({ dataDir })).rejects.toThrow(/open in process \d+ \(this one\)/);
    await second.close();
  });

  // A failed migration released the lock twice (storage.close(), then the opening's own clean-up): the second
  // removal took the lock of whoever had opened the folder in between, and a third opening then wrote beside it.
  it('releases a lock once: releasing it again leaves the lock of whoever took it since', async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    const release = await lockFolder(folder);
    await release();
    const next = await lockFolder(folder);
    await release();
    expect(existsSync(`${folder}.lock`)).toBe(true);
    await next();
    expect(existsSync(`${folder}.lock`)).toBe(false);
  });

  it('refuses a folder whose lock names another process that still runs, saying to stop it first', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(`${dataDir}.lock`, `${other.pid}\n`);
      await expect(embeddedPostgresStorage({ dataDir })).rejects.toThrow(
        `the embedded database in ${dataDir} is open in process ${other.pid}: only one may open it at a time. Stop that process first (or, if it is not using the database, delete ${dataDir}.lock).`,
      );
      expect(readFileSync(`${dataDir}.lock`, 'utf8')).toBe(`${other.pid}\n`);
    } finally {
      other.kill();
    }
  });

  it('takes over a lock left by a process that no longer runs', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
    writeFileSync(`${dataDir}.lock`, `${gone}\n`);
    const storage = await embeddedPostgresStorage({ dataDir });
    await storage.close();
  });

  it("takes over a lock left by an earlier process that had this process's pid (a container restarted after a crash)", async () => {
    // In a container the server often gets the same pid each start (1, or another small number): the lock of
    // the one that crashed names the pid the new one has, and refusing it kept the server down until someone
    // deleted the file by hand.
    const dataDir = join(mkdtempSync(join(tmpdir(), 'byokit-lock-')), 'pgdata');
    writeFileSync(`${dataDir}.lock`, `${process.pid}\n`);
    const storage = await embeddedPostgresStorage({ dataDir });
    // And this process's own opening still holds: a second one is refused.
    await expect(embeddedPostgresStorage({ dataDir })).rejects.toThrow(/open in process \d+ \(this one\)/);
    await storage.close();
    expect(existsSync(`${dataDir}.lock`)).toBe(false);
  });
});
