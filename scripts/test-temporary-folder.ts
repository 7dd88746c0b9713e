// Vitest global setup for every package: one temporary folder per test run, removed when the run ends, passed or
// failed. TMPDIR points into it, so the tests' own folders, the example servers they start, PGlite's data folders
// and chromium's profiles all land there. Before, every run left about 1 GB behind in /tmp (a PGlite data folder
// is ~39 MB), and a shared CI host filled its disk.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `byokit-tests-<pid of the run>-<random>`: the pid says whether the run that made it still lives. */
const FOLDER = /^byokit-tests-(\d+)-/;

export default function useTemporaryFolderForTheRun() {
  const parent = tmpdir();
  removeFoldersOfEndedRuns(parent);
  const folder = mkdtempSync(join(parent, `byokit-tests-${process.pid}-`));
  process.env.TMPDIR = folder;
  // Retries: a server a test stopped may still be writing its last files while the folder goes.
  return () => rmSync(folder, { recursive: true, force: true, maxRetries: 5 });
}

/**
 * Removes the folders of runs whose process has ended without removing its own: a run killed (SIGKILL, a CI step's
 * timeout, a terminal closed) never reaches the teardown above, and each left up to 1 GB behind. A folder whose pid
 * is alive (another package's run, now or a reused pid) is left alone.
 */
export function removeFoldersOfEndedRuns(parent: string): void {
  for (const name of readdirSync(parent)) {
    const pid = FOLDER.exec(name)?.[1];
    if (pid !== undefined && !isAlive(Number(pid))) rmSync(join(parent, name), { recursive: true, force: true, maxRetries: 5 });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it lives, as another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
