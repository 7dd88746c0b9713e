import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const readJson = (file: string) => JSON.parse(readFileSync(new URL(file, root), 'utf8'));

describe("the repository's install", () => {
  it("runs no dependency's install script: each one the lockfile holds is denied in allowScripts", () => {
    const lockfile = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
    const { allowScripts = {} } = readJson('package.json') as { allowScripts?: Record<string, boolean> };
    const withScripts = Object.entries(lockfile.packages)
      .filter(([path, entry]) => path.includes('node_modules/') && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

    expect(withScripts.filter((name) => allowScripts[name] !== false)).toEqual([]);
  });
});
