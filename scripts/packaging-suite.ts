// The tests every package passes as a host installs it: its package.json and its built dist (the test task builds
// it first). Run by packages/*/src/packaging.test.ts; two tests start a Node process of their own, as a host's would
// be: seconds on a loaded machine.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  binHelpFirstLines,
  commonJsImportErrors,
  danglingDocLinks,
  docExampleErrors,
  entrySpecifiers,
  exportedNames,
  internalDeclarations,
  optionsRefusingUndefined,
  publicNames,
  readmeImports,
  readmeExampleErrors,
  readPackageJson,
  requireInCommonJs,
  sourceFilesInDocs,
  typesAHostLacks,
  unneededTypesDependencies,
  undeclaredRuntimeImports,
  undocumentedDeclarations,
  unnamedTypes,
  whatImportingDoes,
} from './package-contents.js';

/**
 * The package whose `src/packaging.test.ts` is at `testFileUrl` (its `import.meta.url`). `exports` is every name each
 * of its entry points exports, sorted, `type Name` for a type-only one: a name added or dropped by accident is a diff.
 */
export function describeAsInstalled(testFileUrl: string, exports: Record<string, string[]>, more?: (packageDir: string) => void): void {
  const packageDir = fileURLToPath(new URL('..', testFileUrl));
  const manifest = readPackageJson(packageDir);

  // 120 s a test: TypeScript programs and Node processes, CPU that a loaded machine shares out, with no wait a limit
  // could cut short. Under a load average of 21 to 38 the first test, building the declarations' program, ran past
  // 30 s in both adapters (docs/testing.md); pinned to a core beside 25 busy processes, 41 s.
  describe(`${manifest.name} as a host installs it`, () => {
    it('exports exactly these names, from each entry point: a name added or dropped by accident is a diff here', () => {
      expect(publicNames(packageDir, manifest)).toEqual(exports);
    }, 120_000);

    it('loads with require() from CommonJS, every entry point, with no warning (Node 20.19 and later load ES modules so)', () => {
      const specifiers = entrySpecifiers(manifest);
      expect(requireInCommonJs(packageDir, specifiers)).toEqual(Object.fromEntries(specifiers.map((specifier) => [specifier, 'loaded'])));
    }, 120_000);

    it('starts nothing and reads no environment variable of its own when imported, every entry point: createByokit reads them', () => {
      expect(whatImportingDoes(packageDir, manifest)).toEqual({ readsOfItsOwn: [], leftRunning: [] });
    }, 120_000);

    it('type-checks in a CommonJS TypeScript file importing every entry point, under "module": "nodenext" (the README)', () => {
      expect(commonJsImportErrors(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it('imports at run time only what a host installs with it: its dependencies and peer dependencies', () => {
      expect(undeclaredRuntimeImports(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it("type-checks in a host that has only what it installs: a dependency's types come with it, an optional peer's are not needed", () => {
      expect(typesAHostLacks(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it("installs into a host no @types package its own declarations do not import (a second copy beside the host's own)", () => {
      expect(unneededTypesDependencies(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it("explains every export, and every option, field and method of its types, in the editor's hover (TSDoc in the .d.ts)", () => {
      expect(undocumentedDeclarations(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it('exports by name every type of its own a host meets in its declarations (a PgPool of its own takes a PgQuery)', () => {
      expect(unnamedTypes(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it('names in its doc comments no source file, which the package does not ship (see `base64url.ts`)', () => {
      expect(sourceFilesInDocs(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it("keeps out of a host's types what it marks @internal (Keyring.keyFor: a copy of a master key's bytes)", () => {
      expect(internalDeclarations(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it("links in its doc comments only to what the editor's hover can open: each {@link} names a declaration it ships", () => {
      expect(danglingDocLinks(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it('takes an option given as `undefined` in its types as at run time, for a host compiled with exactOptionalPropertyTypes (`logger: config.logger`)', () => {
      // `Byokit`: the object whose methods a host calls with options of its own (chat, usage.query, …).
      expect(optionsRefusingUndefined(packageDir, manifest, ['Byokit'])).toEqual([]);
    }, 120_000);

    it('shows in its README only imports that exist: each name it imports is exported where it says', () => {
      const shown = readmeImports(packageDir);
      expect(Object.keys(shown)).toContain(manifest.name);
      const exported = exportedNames(packageDir, Object.keys(shown));
      const missing = Object.entries(shown).flatMap(([specifier, names]) =>
        names.filter((name) => !exported[specifier]!.includes(name)).map((name) => `${name} from ${specifier}`),
      );
      expect(missing).toEqual([]);
    }, 120_000);

    it('shows in its README only TypeScript examples that type-check against the built packages, as a host would write them', () => {
      expect(readmeExampleErrors(packageDir)).toEqual([]);
    }, 120_000);

    it("shows in its doc comments only examples that type-check against the built packages, as the editor's hover shows them", () => {
      expect(docExampleErrors(packageDir, manifest)).toEqual([]);
    }, 120_000);

    it('names each command it installs, in its --help, as a host types it (the bin, not the file behind it)', () => {
      const firstLines = binHelpFirstLines(packageDir, manifest);
      expect(Object.entries(firstLines).filter(([name, line]) => !line.toLowerCase().startsWith(`usage: ${name} `))).toEqual([]);
    }, 120_000);

    more?.(packageDir);
  });
}
