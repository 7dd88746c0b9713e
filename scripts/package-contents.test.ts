import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { whatImportingDoes, type PackageJson } from './package-contents.js';

describe('what importing a package does', () => {
  let packageDir: string;
  afterEach(() => rmSync(packageDir, { recursive: true, force: true }));

  // An entry point that does not load (a dependency a host has not installed, a file left out of dist) ran none of its
  // code: counted as reading nothing, it passed "reads no environment variable of its own" unseen.
  it('fails for an entry point that cannot be imported, rather than count it as reading nothing', () => {
    packageDir = mkdtempSync(join(tmpdir(), 'importing-'));
    const manifest: PackageJson = { name: '@probe/package', exports: { '.': './dist/index.js' } };
    writeFileSync(join(packageDir, 'package.json'), JSON.stringify({ ...manifest, type: 'module' }));
    mkdirSync(join(packageDir, 'dist'));
    writeFileSync(
      join(packageDir, 'dist', 'index.js'),
      "import 'probe-not-installed';\nexport const setting = process.env.PROBE_SETTING;\n",
    );

    expect(() => whatImportingDoes(packageDir, manifest)).toThrow(/ERR_MODULE_NOT_FOUND/);
  });
});
