// What every package's vitest config shares.

import { basename, dirname, join } from 'node:path';

// BYOKIT_TEST_TIMINGS=<folder>: each package's run also writes vitest's JSON report there (every file's and every
// test's duration), as <folder>/<packages|examples>-<name>.json, to see where npm test's time goes (docs/testing.md).
// turbo passes BYOKIT_* variables through. Unset, the default reporter alone, as before.
const timings = process.env.BYOKIT_TEST_TIMINGS;
const packageName = `${basename(dirname(process.cwd()))}-${basename(process.cwd())}`;

/** Test options every package's config spreads into its own. */
export const sharedTestOptions = {
  ...(timings && {
    reporters: ['default', ['json', { outputFile: join(timings, `${packageName}.json`) }]] as ['default', ['json', { outputFile: string }]],
  }),
  // One temporary folder per run, removed when it ends (test-temporary-folder.ts).
  globalSetup: ['../../scripts/test-temporary-folder.ts'],
  // expect.poll waits for something that is on its way (a usage record written after the answer, a page's text, a
  // socket's close); it never measures time. Vitest's default of 1 s is a short wait on 2 shared cores while turbo
  // runs every package's tests at once; a condition that never comes still fails, 10 s later.
  expect: { poll: { timeout: 10_000 } },
};
