import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { entrySpecifiers, readPackageJson, requireInCommonJs } from '../../../scripts/package-contents.js';

// The package as a host installs it: its package.json and its built dist (the test task builds it first).
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const manifest = readPackageJson(PACKAGE_DIR);

describe(`${manifest.name} as a host installs it`, () => {
  it('loads with require() from CommonJS, every entry point (Node 20.19 and later load ES modules so)', () => {
    const specifiers = entrySpecifiers(manifest);
    expect(requireInCommonJs(PACKAGE_DIR, specifiers)).toEqual(Object.fromEntries(specifiers.map((specifier) => [specifier, 'loaded'])));
  });
});
