import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const shared = new URL('../../../../../shared/fixtures/', import.meta.url);
const ours = new URL('../../fixtures/', import.meta.url);

describe.runIf(existsSync(shared))('the fixtures the package carries', () => {
  it('are unchanged copies of the recorded responses in shared/fixtures', () => {
    for (const provider of ['anthropic', 'openai', 'google']) {
      for (const file of readdirSync(new URL(`${provider}/`, shared))) {
        expect(readFileSync(new URL(`${provider}/${file}`, ours), 'utf8'), `${provider}/${file}`).toBe(
          readFileSync(new URL(`${provider}/${file}`, shared), 'utf8'),
        );
      }
    }
  });

  it('carry shared/fixtures/README.md (where each was recorded, and its licence) unchanged, above our own note', () => {
    const theirs = readFileSync(new URL('README.md', shared), 'utf8').trimEnd();
    expect(readFileSync(new URL('README.md', ours), 'utf8').startsWith(`${theirs}\n`)).toBe(true);
  });
});
