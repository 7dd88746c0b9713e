// Vitest global setup for every package: one temporary folder per test run, removed when the run ends, passed or
// failed. TMPDIR points into it, so the tests' own folders, the example servers they start, PGlite's data folders
// and chromium's profiles all land there. Before, every run left about 1 GB behind in /tmp (a PGlite data folder
// is ~39 MB), and a shared CI host filled its disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function useTemporaryFolderForTheRun() {
  const folder = mkdtempSync(join(tmpdir(), 'byokit-tests-'));
  process.env.TMPDIR = folder;
  // Retries: a server a test stopped may still be writing its last files while the folder goes.
  return () => rmSync(folder, { recursive: true, force: true, maxRetries: 5 });
}
