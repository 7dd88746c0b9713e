// A real browser for the example's pages: Debian's chromium, driven by playwright-core (`npx playwright install`
// cannot download browsers here). scripts/install-chromium.sh installs it; CI runs that script and sets
// BYOKIT_REQUIRE_BROWSER=1, so that there the page tests can never be skipped.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** True where no chromium is installed and none is required: a fresh clone's `npm test` skips the page tests. */
export const browserUnavailable = !existsSync(CHROMIUM_PATH) && process.env.BYOKIT_REQUIRE_BROWSER !== '1';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    // Playwright turns the back-forward cache off; a user's browser has it on, and "Back" there shows a page as it
    // was left (its fields, what it showed of whoever was logged in), which the pages must handle.
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  });
}

/**
 * What went wrong inside a page: uncaught errors, and console errors such as a Content-Security-Policy refusal.
 * Chromium's own line for an HTTP error answer ("Failed to load resource: … 401") is left out: answering 401 or
 * 422 is the API's job, and the pages show those answers.
 */
export function pageTrouble(page: Page): string[] {
  const trouble: string[] = [];
  page.on('pageerror', (error) => trouble.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) trouble.push(message.text());
  });
  return trouble;
}
