import { expect, it } from 'vitest';
import { publicNames, readPackageJson } from '../../../scripts/package-contents.js';
import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, (packageDir) => {
  it('exports exactly these names, from each entry point: a name added or dropped by accident is a diff here', () => {
    expect(publicNames(packageDir, readPackageJson(packageDir))).toEqual({
      '@byokit/adapter-express': ['byokitRouter', 'type ByokitRouterOptions'],
    });
  }, 30_000);
});
