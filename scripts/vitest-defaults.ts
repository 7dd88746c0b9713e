// What every package's vitest config shares.

/** Test options every package's config spreads into its own. */
export const sharedTestOptions = {
  // One temporary folder per run, removed when it ends (test-temporary-folder.ts).
  globalSetup: ['../../scripts/test-temporary-folder.ts'],
  // expect.poll waits for something that is on its way (a usage record written after the answer, a page's text, a
  // socket's close); it never measures time. Vitest's default of 1 s is a short wait on 2 shared cores while turbo
  // runs every package's tests at once; a condition that never comes still fails, 10 s later.
  expect: { poll: { timeout: 10_000 } },
};
