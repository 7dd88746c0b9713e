import { readFile, rm, writeFile } from 'node:fs/promises';

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else; ESRCH: no such process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The lock files this process holds now. A lock naming this process's pid that is not among them was left by
 * an earlier process that had the same pid: in a container the server often gets the same small pid each start.
 */
const heldHere = new Set<string>();

/**
 * Takes `<path>.lock` for this process, because PGlite does not lock its data folder: two processes (a
 * server and a `byokit` command, say) could both open it and corrupt it. A lock left by a process that no
 * longer runs is taken over, and so is one naming this process that this process does not hold. Resolves
 * with the function that releases it, once: calling it again does nothing.
 */
export async function lockFolder(path: string): Promise<() => Promise<void>> {
  const lockPath = `${path}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      heldHere.add(lockPath);
      // Once: released again (a failed migration closes the storage, then the opening cleans up), it removed the lock
      // of whoever had taken it in between, in this process or another.
      let held = true;
      return async () => {
        if (!held) return;
        held = false;
        heldHere.delete(lockPath);
        await rm(lockPath, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    const earlierSelf = holder === process.pid && !heldHere.has(lockPath);
    if (Number.isInteger(holder) && holder > 0 && !earlierSelf && isRunning(holder)) {
      // Opened in this process already (a dev server's reload opening the new storage before closing the old): the
      // lock is sure to be in use, and deleting it, as the advice for another process has it, let a second PGlite
      // write the folder beside the first.
      if (holder === process.pid) {
        throw new Error(
          `the embedded database in ${path} is open in process ${holder} (this one): only one opening may have it at a time. Close the storage that opened it first (byokit.close() closes it), then open it again.`,
        );
      }
      throw new Error(
        `the embedded database in ${path} is open in process ${holder}: only one may open it at a time. Stop that process first (or, if it is not using the database, delete ${lockPath}).`,
      );
    }
    await rm(lockPath, { force: true });
  }
  throw new Error(`could not take the lock ${lockPath}`);
}
