import { readFileSync } from 'node:fs';

// The recorded provider responses live in the package's `fixtures/` folder (shipped with it). From source
// (src/providers/) and from a bundle (dist/, dist/testing/) it is a different number of levels up.
const candidates = ['../../fixtures/', '../fixtures/', '../../../fixtures/'].map((relative) => new URL(relative, import.meta.url));

function fixtureUrl(path: string): URL {
  for (const base of candidates) {
    const url = new URL(path, base);
    try {
      readFileSync(url, { flag: 'r' });
      return url;
    } catch {
      // try the next level
    }
  }
  throw new Error(`fixture not found: ${path}`);
}

/** A recorded non-streaming response body, e.g. `fixtureJson('anthropic/anthropic-text.json')`. */
export function fixtureJson(path: string): unknown {
  return JSON.parse(readFileSync(fixtureUrl(path), 'utf8'));
}

/** A recorded stream: one event's JSON text per line (fixtures/README.md). */
export function fixtureChunks(path: string): string[] {
  return readFileSync(fixtureUrl(path), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '');
}
