// Child processes of the chat benchmark: each server, client and wrk run is its own process, started here,
// and every one is killed when the benchmark ends, fails or is interrupted.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** The children of one benchmark run. `stopAll()` in a finally; the exit and signal hooks cover the rest. */
export class ChildProcesses {
  #children = new Set();
  #onExit = () => {
    for (const child of this.#children) child.kill('SIGKILL');
  };
  #onSignal = (signal) => {
    this.#onExit();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };

  constructor() {
    process.on('exit', this.#onExit);
    process.once('SIGINT', this.#onSignal);
    process.once('SIGTERM', this.#onSignal);
  }

  /**
   * Starts `command args` and resolves with the parsed JSON of its first stdout line and the child. Rejects
   * (with the child's stderr) if it exits or says nothing within `timeoutMs`.
   */
  start(command, args, { env, timeoutMs = 20_000, label = args[0] } = {}) {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.once('exit', () => this.#children.delete(child));
    const lines = createInterface({ input: child.stdout });
    return new Promise((resolve, reject) => {
      const fail = (why) => {
        clearTimeout(timer);
        this.stop(child);
        reject(new Error(`${label}: ${why}${stderr ? `\n${stderr}` : ''}`));
      };
      const timer = setTimeout(() => fail(`no output within ${timeoutMs} ms`), timeoutMs);
      child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before printing its JSON line`));
      child.once('error', (error) => fail(error.message));
      lines.once('line', (line) => {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.once('exit', () => this.#children.delete(child));
        try {
          resolve({ child, info: JSON.parse(line), lines, stderr: () => stderr });
        } catch {
          this.stop(child);
          reject(new Error(`${label}: printed ${JSON.stringify(line.slice(0, 200))}, not JSON`));
        }
      });
    });
  }

  /** Runs `command args` to its end (killed after `timeoutMs`); resolves with its stdout. */
  run(command, args, { timeoutMs = 60_000, label = command } = {}) {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.#children.delete(child);
        if (code === 0) resolve(stdout);
        else reject(new Error(`${label} failed (${signal ?? code}): ${stderr || stdout}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL if it is still there after a second; resolves once it has exited. */
  stop(child) {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill('SIGKILL'), 1000);
      child.once('exit', () => {
        clearTimeout(kill);
        this.#children.delete(child);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  async stopAll() {
    await Promise.all([...this.#children].map((child) => this.stop(child)));
    process.off('exit', this.#onExit);
    process.off('SIGINT', this.#onSignal);
    process.off('SIGTERM', this.#onSignal);
  }
}

/** A process's resident set size in bytes (/proc/<pid>/status, VmRSS). */
export function residentBytes(pid) {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) * 1024;
}

const CLOCK_TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU time a process has used so far, user + system, in µs (/proc/<pid>/stat, fields 14 and 15). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS_PER_SECOND;
}

/**
 * The machine's CPU time so far, from /proc/stat: all of it, and what the hypervisor took for other guests
 * (steal). Two readings give the share of a phase's CPU time stolen: on a shared host, the noise behind a
 * phase's figures. Undefined where /proc/stat is missing.
 */
export function cpuTimes() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    return { total: fields.slice(0, 8).reduce((sum, value) => sum + value, 0), steal: fields[7] ?? 0 };
  } catch {
    return undefined;
  }
}

/** The share of CPU time stolen by the hypervisor since `before` (a {@link cpuTimes} reading), as "x.y%". */
export function stealSince(before) {
  const now = cpuTimes();
  if (!before || !now || now.total === before.total) return 'n/a';
  return `${((100 * (now.steal - before.steal)) / (now.total - before.total)).toFixed(1)}%`;
}
