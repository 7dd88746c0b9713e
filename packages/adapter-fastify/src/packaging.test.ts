import { expect, it } from 'vitest';
import { publicNames, readPackageJson } from '../../../scripts/package-contents.js';
import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, (packageDir) => {
  it('exports exactly these names, from each entry point: a name added or dropped by accident is a diff here', () => {
    expect(publicNames(packageDir, readPackageJson(packageDir))).toEqual({
      '@byokit/adapter-fastify': ['byokitPlugin', 'type ByokitPluginOptions'],
    });
  }, 30_000);
});
