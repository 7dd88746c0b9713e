import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { distFiles, packedFiles, readmeExampleErrors } from '../../../scripts/package-contents.js';
import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, (packageDir) => {
  it('ships the recorded responses its mock providers serve, with their provenance and licence, and no test-only ones', () => {
    // The mock reads each fixture by a literal path, e.g. fixtureJson('anthropic/anthropic-text.json').
    const served = new Set<string>();
    for (const file of distFiles(packageDir, ['.js'])) {
      for (const [, path] of readFileSync(file, 'utf8').matchAll(
        /['"`]((?:anthropic|openai|google)\/[\w.-]+\.(?:json|chunks\.txt))['"`]/g,
      )) {
        served.add(`fixtures/${path}`);
      }
    }
    expect(served.size).toBeGreaterThan(0);
    const shipped = packedFiles(packageDir).filter((path) => path.startsWith('fixtures/'));
    expect(shipped).toEqual([...served, 'fixtures/LICENSE.vercel-ai', 'fixtures/README.md'].sort());
  }, 30_000);

  it("shows in the repository's README and each example's only TypeScript examples that type-check against the built packages", () => {
    // Core's test, since these READMEs show every package; each package's own README is checked by its own test.
    const root = join(packageDir, '..', '..');
    const examples = readdirSync(join(root, 'examples')).map((name) => join(root, 'examples', name));
    const folders = [root, ...examples.filter((folder) => existsSync(join(folder, 'README.md')))];
    expect(folders.flatMap((folder) => readmeExampleErrors(folder).map((error) => `${relative(root, folder) || '.'}/${error}`))).toEqual(
      [],
    );
  }, 120_000);
});
