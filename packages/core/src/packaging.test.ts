import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  distFiles,
  entrySpecifiers,
  exportedNames,
  packedFiles,
  readmeImports,
  readPackageJson,
  requireInCommonJs,
  typesAHostLacks,
  undeclaredRuntimeImports,
} from '../../../scripts/package-contents.js';

// The package as a host installs it: its package.json and its built dist (the test task builds it first). Two tests
// start a Node process of their own, as a host's would be: seconds on a loaded machine.
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const manifest = readPackageJson(PACKAGE_DIR);

describe(`${manifest.name} as a host installs it`, () => {
  it('loads with require() from CommonJS, every entry point (Node 20.19 and later load ES modules so)', () => {
    const specifiers = entrySpecifiers(manifest);
    expect(requireInCommonJs(PACKAGE_DIR, specifiers)).toEqual(Object.fromEntries(specifiers.map((specifier) => [specifier, 'loaded'])));
  }, 30_000);

  it('imports at run time only what a host installs with it: its dependencies and peer dependencies', () => {
    expect(undeclaredRuntimeImports(PACKAGE_DIR, manifest)).toEqual([]);
  });

  it("type-checks in a host that has only what it installs: a dependency's types come with it, an optional peer's are not needed", () => {
    expect(typesAHostLacks(PACKAGE_DIR, manifest)).toEqual([]);
  });

  it('shows in its README only imports that exist: each name it imports is exported where it says', () => {
    const shown = readmeImports(PACKAGE_DIR);
    expect(Object.keys(shown)).toContain(manifest.name);
    const exported = exportedNames(PACKAGE_DIR, Object.keys(shown));
    const missing = Object.entries(shown).flatMap(([specifier, names]) =>
      names.filter((name) => !exported[specifier]!.includes(name)).map((name) => `${name} from ${specifier}`),
    );
    expect(missing).toEqual([]);
  }, 30_000);

  it('ships the recorded responses its mock providers serve, with their provenance and licence, and no test-only ones', () => {
    // The mock reads each fixture by a literal path, e.g. fixtureJson('anthropic/anthropic-text.json').
    const served = new Set<string>();
    for (const file of distFiles(PACKAGE_DIR, ['.js'])) {
      for (const [, path] of readFileSync(file, 'utf8').matchAll(
        /['"`]((?:anthropic|openai|google)\/[\w.-]+\.(?:json|chunks\.txt))['"`]/g,
      )) {
        served.add(`fixtures/${path}`);
      }
    }
    expect(served.size).toBeGreaterThan(0);
    const shipped = packedFiles(PACKAGE_DIR).filter((path) => path.startsWith('fixtures/'));
    expect(shipped).toEqual([...served, 'fixtures/LICENSE.vercel-ai', 'fixtures/README.md'].sort());
  }, 30_000);
});
