import { execFileSync } from 'node:child_process';

/** DATABASE_URL, else the machine's server started by the project's own script; null when neither works. */
export function databaseUrl() {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  try {
    return execFileSync('bash', [new URL('../scripts/start-postgres.sh', import.meta.url).pathname], { encoding: 'utf8' }).trim();
  } catch {
    return null;
  }
}
