// What each package's packaging test reads: its package.json and its built dist, as a host installing the
// package gets them. Shared by packages/*/src/packaging.test.ts; the test task builds dist first (turbo.json).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The fields of a package.json the packaging tests read. */
export interface PackageJson {
  name: string;
  exports: Record<string, string | Record<string, string>>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export function readPackageJson(packageDir: string): PackageJson {
  return JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as PackageJson;
}

/** The specifiers a host imports the package by: `@byokit/core`, `@byokit/core/node`, … (not `./package.json`). */
export function entrySpecifiers(manifest: PackageJson): string[] {
  return Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => (subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`));
}

/**
 * `require()`s each specifier in a CommonJS Node process started in `packageDir`, as a host's CommonJS code would,
 * and returns what each gave: `'loaded'`, or the error's code and first line.
 */
export function requireInCommonJs(packageDir: string, specifiers: readonly string[]): Record<string, string> {
  const script = `
    const outcomes = {};
    for (const specifier of ${JSON.stringify(specifiers)}) {
      try { require(specifier); outcomes[specifier] = 'loaded'; }
      catch (error) { outcomes[specifier] = (error.code ?? error.name) + ': ' + String(error.message).split('\\n')[0]; }
    }
    process.stdout.write(JSON.stringify(outcomes));`;
  const run = spawnSync(process.execPath, ['--input-type=commonjs', '-e', script], { cwd: packageDir, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`node exited with ${String(run.status)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, string>;
}
