import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { removeFoldersOfEndedRuns } from './test-temporary-folder.js';

describe("a test run's temporary folder", () => {
  let parent: string;
  afterEach(() => rmSync(parent, { recursive: true, force: true }));

  it('removes what a killed run left, and keeps the folders of runs still going and anything not a run folder', () => {
    parent = mkdtempSync(join(tmpdir(), 'sweep-'));
    // A process that has ended: its pid is free (until reused, when its folder is kept, as a live run's).
    const ended = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const left = join(parent, `byokit-tests-${ended}-aB3xYz`);
    mkdirSync(join(left, 'pglite'), { recursive: true });
    writeFileSync(join(left, 'pglite', 'data'), 'x');
    const running = join(parent, `byokit-tests-${process.pid}-Qw12Er`);
    mkdirSync(running);
    const other = join(parent, 'byokit-tests-notarun');
    mkdirSync(other);

    removeFoldersOfEndedRuns(parent);

    expect([existsSync(left), existsSync(running), existsSync(other)]).toEqual([false, true, true]);
  });
});
