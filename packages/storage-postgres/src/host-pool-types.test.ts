import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, expect, it } from 'vitest';
import { AS_A_HOST_COMPILES } from '../../../scripts/package-contents.js';

// A host's lockfile may hold an earlier @types/pg than the one byokit is built with (which npm installed beside it
// while @types/pg was a dependency of byokit's), and `pg.Pool` of one release is not the `pg.Pool` of another
// (8.11.9 had no `ending`, 8.20 another `options.Client`): `postgresStorage({ pool })` failed to compile in such a
// host (TS2739, TS2322).
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const host = mkdtempSync(join(tmpdir(), 'byokit-host-pool-types-'));
afterAll(() => rmSync(host, { recursive: true, force: true }));

/** A host beside byokit's built package, whose own @types/pg is byokit's with `edit` made to it, as release `version`. */
function hostWithItsOwnTypesOfPg(version: string, edit: (declarations: string) => string): string {
  const modules = join(host, 'node_modules');
  mkdirSync(join(modules, '@byokit'), { recursive: true });
  mkdirSync(join(modules, '@types'), { recursive: true });
  symlinkSync(packageDir, join(modules, '@byokit', 'storage-postgres'));
  // The workspace's own copies (hoisted to its root), as a host's node_modules would hold them.
  const folderOf = (name: string) => join(packageDir, '..', '..', 'node_modules', name);
  for (const name of ['pg', 'pg-protocol', 'pg-types', '@types/node']) symlinkSync(folderOf(name), join(modules, name));
  const ownTypes = join(modules, '@types', 'pg');
  cpSync(folderOf('@types/pg'), ownTypes, { recursive: true, dereference: true });
  const index = join(ownTypes, 'index.d.ts');
  writeFileSync(index, edit(readFileSync(index, 'utf8')));
  // Another release, as TypeScript tells them apart: it reads two copies of one name and version as one.
  const manifest = join(ownTypes, 'package.json');
  writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), version }));
  const file = join(host, 'host.mts');
  writeFileSync(
    file,
    [
      "import pg from 'pg';",
      "import { postgresStorage } from '@byokit/storage-postgres';",
      'postgresStorage({ pool: new pg.Pool() });',
    ].join('\n'),
  );
  return file;
}

it("takes a host's node-postgres Pool typed by an earlier @types/pg than its own", () => {
  // As in @types/pg 8.11.9, whose Pool had no `ending` and `ended`.
  const file = hostWithItsOwnTypesOfPg('8.11.9', (declarations) =>
    declarations.replace(/\n\s*readonly ending: boolean;\n\s*readonly ended: boolean;/, ''),
  );
  expect(readFileSync(join(host, 'node_modules/@types/pg/index.d.ts'), 'utf8')).not.toContain('readonly ended');
  const program = ts.createProgram([file], { ...AS_A_HOST_COMPILES, types: [] });
  const errors = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, ' '));
  expect(errors).toEqual([]);
}, 60_000);
