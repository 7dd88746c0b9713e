import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { distFiles, packedFiles } from '../../../scripts/package-contents.js';
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
});
