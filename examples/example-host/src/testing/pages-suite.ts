import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { fakeProviderKey } from '@byokit/core/testing';
import { browserUnavailable, launchChromium, pageTrouble } from './browser.js';
import { scriptHelpers } from './script-helpers.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer } from './test-server.js';
import type { ExampleServer } from './example-server.js';

/**
 * The guide's pages (seed/user-api-key-guide.md, "Step 2: Add Keys in Profile", "Step 3: Verify Models Are
 * Available", "Usage Tracking"): served at the paths it names, with the fields and buttons it names, and their
 * script, as served, doing what the guide says against the server's real API.
 */
export function describeGuidePages(example: ExampleServer): void {
  describe("the guide's pages", () => {
    let server: Awaited<ReturnType<typeof startTestServer>>;
    let origin = '';
    let script = '';
    const pages = new Map<string, string>();
    const email = 'pages@example.com';
    const password = 'a-long-password';

    beforeAll(async () => {
      server = await startTestServer(example);
      origin = new URL(server.base).origin;
      for (const path of ['/profile', '/language-models', '/language-models/billing']) {
        pages.set(path, await (await fetch(`${origin}${path}`)).text());
      }
      script = await (await fetch(`${origin}/assets/byokit-pages.js`)).text();
      // The user of these pages has an account, as the guide's first step ("Login to your account") assumes.
      await server.login(email, password);
    });
    afterAll(() => server.stop());

    it('serves /profile, /language-models and /language-models/billing as HTML pages, with their script and style sheet', async () => {
      for (const path of ['/profile', '/language-models', '/language-models/billing']) {
        const response = await fetch(`${origin}${path}`);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
        // No other site may frame the page (clickjacking) nor run a script in it; a new deploy is seen at the next load.
        const policy = response.headers.get('content-security-policy');
        for (const directive of ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"]) expect(policy).toContain(directive);
        expect(response.headers.get('cache-control')).toBe('no-cache');
        expect(response.headers.get('x-content-type-options')).toBe('nosniff');
        expect(response.headers.get('referrer-policy')).toBe('no-referrer');
        expect(response.headers.get('x-request-id')).toBeTruthy();
        const html = await response.text();
        expect(html).toContain('<script defer src="/assets/byokit-pages.js"></script>');
        expect(html).toContain('<link rel="stylesheet" href="/assets/byokit-pages.css">');
      }
      const js = await fetch(`${origin}/assets/byokit-pages.js`);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const css = await fetch(`${origin}/assets/byokit-pages.css`);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
      for (const asset of [js, css]) {
        expect([asset.headers.get('cache-control'), asset.headers.get('x-content-type-options')]).toEqual(['no-cache', 'nosniff']);
      }
    });

    it('Profile has the "API Configuration" section: the three key fields the guide names, and "Save API Keys"', () => {
      const html = pages.get('/profile')!;
      expect(html).toContain('<h2 id="api-configuration">API Configuration</h2>');
      for (const [provider, label] of [
        ['anthropic', 'Anthropic API Key'],
        ['openai', 'OpenAI API Key'],
        ['google', 'Google API Key'],
      ]) {
        expect(html).toContain(`<label for="${provider}_api_key">${label}</label>`);
        // A key is typed into a password field: not shown on screen, not remembered by the browser.
        expect(html).toMatch(new RegExp(`<input id="${provider}_api_key"[^>]* type="password" autocomplete="off"`));
      }
      expect(html).toMatch(/<button type="submit">Save API Keys<\/button>/);
    });

    it('Language Models and Billing are where the guide sends the user, Billing with its "My Usage" section', () => {
      expect(pages.get('/language-models')).toContain('<h1 tabindex="-1">Language Models</h1>');
      expect(pages.get('/language-models/billing')).toContain('<h1 tabindex="-1">Billing</h1>');
      expect(pages.get('/language-models/billing')).toContain('<h2 id="my-usage">My Usage</h2>');
    });

    it("the script's key body leaves an empty field out, and its stream reader takes events split anywhere", () => {
      const helpers = scriptHelpers(script);
      expect(helpers.keysPatchBody({ anthropic: '  sk-ant-x ', openai: '', google: '   ' })).toEqual({ anthropic_api_key: 'sk-ant-x' });
      const stream = 'data: {"a":1}\r\n\r\ndata: [DONE]\n\n';
      for (let cut = 0; cut <= stream.length; cut++) {
        const first = helpers.readEvents(stream.slice(0, cut));
        const second = helpers.readEvents(first.rest + stream.slice(cut));
        expect([...first.events, ...second.events], `cut at ${cut}`).toEqual(['{"a":1}', '[DONE]']);
        expect(second.rest).toBe('');
      }
      expect(helpers.describeKey('OpenAI', { configured: false, system_fallback: true })).toBe(
        'No personal OpenAI key: the system key an admin set is used.',
      );
      // A stored key that no longer decrypts: its calls fail until it is entered again, which the page says.
      expect(helpers.describeKey('OpenAI', { configured: true, hint: '…x9Yz', verification: 'unreadable', system_fallback: true })).toBe(
        'Your OpenAI key …x9Yz is saved but can no longer be read: enter it again, or remove it.',
      );
    });

    it("the playground's usage line says why an answer ended short, and never shows a count the provider did not report as null", () => {
      const { answerUsageText } = scriptHelpers(script);
      const usage = { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14, cost_usd: '0.000100', key_source: 'user' };
      expect(answerUsageText(usage, 'stop')).toBe('14 tokens, $0.000100, paid by your key.');
      expect(answerUsageText(usage, 'length')).toBe(
        'The answer reached its token limit and was cut off. 14 tokens, $0.000100, paid by your key.',
      );
      // A refusal (Anthropic, OpenAI) or a block (Gemini's content filters): often no text at all, which said nothing.
      expect(answerUsageText(usage, 'content_filter')).toBe(
        "The provider's content filter declined or stopped this answer. 14 tokens, $0.000100, paid by your key.",
      );
      expect(answerUsageText(usage, 'error')).toBe('The provider ended this answer abnormally. 14 tokens, $0.000100, paid by your key.');
      // A prompt Gemini blocked: its prompt counted, no output reported ("null tokens" before).
      const blocked = { ...usage, completion_tokens: null, total_tokens: null, cost_usd: '0.000016' };
      expect(answerUsageText(blocked, 'content_filter')).toBe(
        "The provider's content filter declined or stopped this answer. 9 prompt tokens, $0.000016, paid by your key.",
      );
      const unreported = { ...usage, prompt_tokens: null, completion_tokens: null, total_tokens: null, cost_usd: '0' };
      expect(answerUsageText(unreported, 'stop')).toBe('Tokens not reported, $0, paid by your key.');
      expect(answerUsageText({ ...usage, cost_usd: null, key_source: 'system' }, null)).toBe('14 tokens, $?, paid by the system key.');
    });

    describe.skipIf(browserUnavailable)('in a real browser (chromium)', () => {
      let browser: Browser;
      let context: BrowserContext;
      let page: Page;
      let trouble: string[];
      const token = () => page.evaluate(() => sessionStorage.getItem('byokit-example-access-token'));

      beforeAll(async () => {
        browser = await launchChromium();
      });
      afterAll(() => browser?.close());
      // Each test in a tab of its own, as a user opening the page afresh: its own sessionStorage, so logged out.
      beforeEach(async () => {
        context = await browser.newContext();
        page = await context.newPage();
        trouble = pageTrouble(page);
      });
      afterEach(async () => {
        await context.close();
        // No uncaught error and no Content-Security-Policy refusal, in any test.
        expect(trouble).toEqual([]);
      });

      /** Opens a page and logs in through its form, as a user does; resolves once the page shows its content. */
      async function openSignedIn(path: string) {
        await page.goto(`${origin}${path}`);
        await page.fill('#username', email);
        await page.fill('#password', password);
        await page.click('#sign-in-form button[type=submit]');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        expect(await page.textContent('#signed-in-email')).toBe(email);
      }

      /** The user's usage this month as the API gives it (`query`: e.g. `?group_by=model`). */
      async function usageOf(accessToken: string | null, query: string) {
        const response = await fetch(`${server.base}/llm/usage/me${query}`, { headers: { authorization: `Bearer ${accessToken}` } });
        return (await response.json()) as { totals: { requests: number }; groups: Array<{ key: string }> };
      }

      async function apiKeyStatus() {
        const response = await fetch(`${server.base}/users/me/api-key-status`, { headers: { authorization: `Bearer ${await token()}` } });
        return (await response.json()) as { has_anthropic_key: boolean; has_openai_key: boolean; has_google_key: boolean };
      }

      it('a page opened without a token asks the user to log in first', async () => {
        await page.goto(`${origin}/profile`);
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        expect(await page.isHidden('#content')).toBe(true);
      });

      it('Language Models says "No models available" while the user has configured no key', async () => {
        await openSignedIn('/language-models');
        await expect.poll(() => page.textContent('#models-message')).toMatch(/^No models available\./);
        expect(await page.isHidden('#models-table')).toBe(true);
      });

      it("Profile refuses a placeholder key with the API's message, and saves nothing", async () => {
        await openSignedIn('/profile');
        await page.fill('#anthropic_api_key', 'sk-ant-api03-YOUR-REAL-KEY-HERE');
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toMatch(/stand-in, not a real key/);
        expect(await page.getAttribute('#keys-message', 'class')).toContain('error');
        expect((await apiKeyStatus()).has_anthropic_key).toBe(false);
      });

      it('Profile saves the key pasted in "Anthropic API Key" with "Save API Keys", then shows only its last four characters', async () => {
        const key = fakeProviderKey('anthropic');
        await openSignedIn('/profile');
        await expect.poll(() => page.textContent('#anthropic-status')).toMatch(/^No Anthropic key/);
        await page.fill('#anthropic_api_key', key);
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('API keys saved.');
        expect(await page.textContent('#anthropic-status')).toContain(`…${key.slice(-4)}`);
        // The key leaves the page once saved: not in its field, nor anywhere in the document.
        expect(await page.inputValue('#anthropic_api_key')).toBe('');
        expect(await page.content()).not.toContain(key.slice(0, 16));
        expect(await page.textContent('#openai-status')).toMatch(/^No OpenAI key/);
        const status = await apiKeyStatus();
        expect([status.has_anthropic_key, status.has_openai_key, status.has_google_key]).toEqual([true, false, false]);
      });

      it('Language Models then lists the Anthropic models, and "Try Now" streams an answer paid by the user\'s key', async () => {
        await openSignedIn('/language-models');
        const rows = page.locator('#models tr');
        await rows.first().waitFor();
        expect(new Set(await page.locator('#models tr td:nth-child(2)').allTextContents())).toEqual(new Set(['anthropic']));
        const guideModel = rows.filter({ has: page.locator('td:first-child', { hasText: /^Claude Sonnet 4\.5$/ }) });
        expect(await page.isHidden('#playground')).toBe(true);
        // The button reads "Try Now", and tells a screen reader which model it tries.
        const tryNow = guideModel.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' });
        expect(await tryNow.textContent()).toBe('Try Now');
        await tryNow.click();
        await page.locator('#playground').waitFor({ state: 'visible' });
        await page.fill('#prompt', 'Hello!');
        server.mockProviders!.reset();
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        expect((await page.textContent('#answer'))!.length).toBeGreaterThan(0);
        expect(server.mockProviders!.requests).toHaveLength(1);
        expect(server.mockProviders!.requests[0]).toMatchObject({
          provider: 'anthropic',
          body: { model: 'claude-sonnet-4-5', stream: true },
        });
      });

      it("Billing shows that call under My Usage: the month's totals and the model by its name", async () => {
        await openSignedIn('/language-models/billing');
        // The call's record is written just after its answer, never waited for: Billing is loaded again once it is.
        await expect.poll(async () => (await usageOf(await token(), '')).totals.requests).toBe(1);
        await page.reload();
        await page.locator('#usage-by-model tbody tr').first().waitFor();
        expect(await page.textContent('#usage-totals')).toMatch(/^Requests1Tokens\d+Cost\$0\.\d+$/);
        expect(await page.locator('#usage-by-model tbody tr td:first-child').allTextContents()).toEqual(['Claude Sonnet 4.5']);
        expect(await page.locator('#usage-by-day tbody tr').count()).toBe(1);
        expect(await page.locator('#usage-chart > *').count()).toBe(1);
      });

      it("Billing's rows by model are of the window its totals and days show: the same from and to, asked for once the days came", async () => {
        // Asked for apart, each with its own "now", the two could be of two months (around midnight UTC on the 1st)
        // or differ by a call recorded in between: rows by model that did not add up to the totals above them.
        const byDay = page.waitForResponse((response) => response.url().includes('/llm/usage/me?group_by=day'));
        const byModel = page.waitForRequest((request) => request.url().includes('/llm/usage/me?group_by=model'));
        await openSignedIn('/language-models/billing');
        const window = (await (await byDay).json()) as { from: string; to: string };
        const asked = new URL((await byModel).url()).searchParams;
        expect([asked.get('from'), asked.get('to')]).toEqual([window.from, window.to]);
        await page.locator('#usage-by-model tbody tr').first().waitFor();
        expect(await page.locator('#usage-by-model tbody tr td:first-child').allTextContents()).toEqual(['Claude Sonnet 4.5']);
      });

      it('"Stop" ends the streamed answer, Send being disabled until then: the page says "Stopped.", the provider\'s request is aborted and the call is recorded as aborted', async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'A long answer, please');
        server.mockProviders!.reset();
        server.mockProviders!.setChunkGapMs(300);
        try {
          await page.click('#send');
          await expect.poll(async () => (await page.textContent('#answer'))!.length, { timeout: 10_000 }).toBeGreaterThan(0);
          // While a call runs, Send says it cannot be pressed (a press did nothing, without a word), until it ends.
          expect(await page.isDisabled('#send')).toBe(true);
          expect(await page.evaluate(() => document.activeElement?.id)).toBe('stop');
          await page.click('#stop');
          await expect.poll(() => page.textContent('#answer-usage')).toBe('Stopped.');
          expect(await page.isHidden('#stop')).toBe(true);
          expect(await page.isEnabled('#send')).toBe(true);
          // Stop, pressed, is hidden now: the focus is back on Send, not at the start of the page.
          expect(await page.evaluate(() => document.activeElement?.id)).toBe('send');
          const upstream = await server.mockProviders!.waitForRequest((request) => request.aborted, { timeoutMs: 10_000 });
          expect(upstream.provider).toBe('anthropic');
        } finally {
          server.mockProviders!.setChunkGapMs(0);
        }
        const events = async () =>
          (
            (await (
              await fetch(`${server.base}/llm/usage/me/events?limit=1`, { headers: { authorization: `Bearer ${await token()}` } })
            ).json()) as { data: Array<{ status: string }> }
          ).data;
        // Recorded just after the call ended, never waited for.
        await expect.poll(async () => (await events())[0]?.status).toBe('aborted');
      });

      it('an error the provider sends mid-stream is shown under the answer, and read out to a screen reader, and Send works again', async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'Hello!');
        server.mockProviders!.reset();
        server.mockProviders!.streamErrorNext('anthropic');
        await page.click('#send');
        await expect.poll(() => page.getAttribute('#answer-usage', 'class'), { timeout: 10_000 }).toContain('error');
        const shown = (await page.textContent('#answer-usage'))!;
        expect(shown).toMatch(/\S/);
        // In a live region, as every other message of the pages is: a screen reader says it without being sent to it.
        await expect.poll(() => page.getByRole('status').filter({ hasText: shown }).count()).toBe(1);
        expect(await page.isHidden('#stop')).toBe(true);
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        expect(await page.getAttribute('#answer-usage', 'class')).not.toContain('error');
      });

      it('a refused answer says so under it, rather than an empty answer that looks like nothing happened', async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'Hello!');
        // The chunks the API sends for a refusal (anthropic-refusal.chunks.txt through the native route).
        const chunk = (body: object) => `data: ${JSON.stringify({ object: 'chat.completion.chunk', ...body })}\n\n`;
        await page.route('**/v2/llm/chat/completions', (route) =>
          route.fulfill({
            status: 200,
            headers: { 'content-type': 'text/event-stream' },
            body:
              chunk({ choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: 'content_filter' }] }) +
              chunk({
                choices: [],
                usage: { prompt_tokens: 18, completion_tokens: 5, total_tokens: 23, cost_usd: '0.000172', key_source: 'user' },
              }) +
              'data: [DONE]\n\n',
          }),
        );
        await page.click('#send');
        await expect
          .poll(() => page.textContent('#answer-usage'), { timeout: 10_000 })
          .toBe("The provider's content filter declined or stopped this answer. 23 tokens, $0.000172, paid by your key.");
        expect(await page.textContent('#answer')).toBe('');
        expect((await page.getAttribute('#answer-usage', 'class')) ?? '').not.toContain('error');
      });

      it('"Log out" leaves neither the password nor a key typed but not saved in the page: the next person at the tab cannot log back in with one click', async () => {
        await openSignedIn('/profile');
        // The password left the form once it served: it is not kept in the page for the whole session.
        expect(await page.inputValue('#password')).toBe('');
        const unsaved = fakeProviderKey('openai');
        await page.fill('#openai_api_key', unsaved);
        await page.click('#sign-out');
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        expect(await page.textContent('#sign-in-message')).toBe('You are logged out.');
        expect(await page.inputValue('#password')).toBe('');
        expect(await page.inputValue('#openai_api_key')).toBe('');
        // "Log in" as it stands now signs no one in: the browser refuses the empty password field.
        await page.click('#sign-in-form button[type=submit]');
        expect(await page.isHidden('#content')).toBe(true);
        expect(await token()).toBeNull();
      });

      /** Records, in the page, whether it was last shown from the back-forward cache (a pageshow that is `persisted`). */
      async function watchBackForwardCache() {
        await context.addInitScript(() =>
          window.addEventListener('pageshow', (event) => {
            (window as unknown as { restoredFromCache: boolean }).restoredFromCache = event.persisted;
          }),
        );
      }
      const restoredFromCache = () => page.evaluate(() => (window as unknown as { restoredFromCache?: boolean }).restoredFromCache);

      it('"Back" after "Log out" brings back no page of the user who logged out: the page the browser keeps in its back-forward cache asks to log in, without their email or a key they typed and did not save', async () => {
        await watchBackForwardCache();
        await openSignedIn('/profile');
        const unsaved = fakeProviderKey('openai');
        await page.fill('#openai_api_key', unsaved);
        await page.click('nav a[href="/language-models/billing"]');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await page.click('#sign-out');
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        // Restored from the cache, the page fires no load event: wait for the navigation alone.
        await page.goBack({ waitUntil: 'commit' });
        await expect.poll(restoredFromCache).toBe(true);
        expect(page.url()).toBe(`${origin}/profile`);
        await expect.poll(() => page.isVisible('#sign-in')).toBe(true);
        expect(await page.isHidden('#content')).toBe(true);
        expect(await page.isHidden('#signed-in')).toBe(true);
        expect(await page.inputValue('#openai_api_key')).toBe('');
        expect(await page.content()).not.toContain(unsaved.slice(0, 16));
      });

      it('a key typed in Profile and not saved is not kept in the back-forward cache: "Back" to Profile finds its field empty, and the page as a load shows it', async () => {
        await watchBackForwardCache();
        await openSignedIn('/profile');
        await expect.poll(() => page.textContent('#google-status')).toMatch(/^No Google key/);
        const unsaved = fakeProviderKey('google');
        await page.fill('#google_api_key', unsaved);
        await page.click('nav a[href="/language-models"]');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await page.goBack({ waitUntil: 'commit' });
        await expect.poll(restoredFromCache).toBe(true);
        await expect.poll(() => page.textContent('#google-status')).toMatch(/^No Google key/);
        expect(await page.isVisible('#content')).toBe(true);
        expect(await page.textContent('#signed-in-email')).toBe(email);
        expect(await page.inputValue('#google_api_key')).toBe('');
        expect(await page.content()).not.toContain(unsaved.slice(0, 16));
      });

      it('"Log out" on Language Models takes the playground\'s question and answer away: the next user to log in at the tab sees neither', async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'A question of mine');
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        await page.click('#sign-out');
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await page.fill('#username', 'next-user@example.com');
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await expect.poll(() => page.textContent('#models-message')).toMatch(/^No models available\./);
        expect(await page.isHidden('#playground')).toBe(true);
        expect(await page.inputValue('#prompt')).toBe('');
        expect(await page.textContent('#answer')).toBe('');
        expect(await page.textContent('#answer-usage')).toBe('');
      });

      it('a session that ends while a key is typed takes the key out of the page: the next user to log in at the tab neither finds it in their field nor saves it as theirs', async () => {
        await openSignedIn('/profile');
        const typed = fakeProviderKey('google');
        await page.fill('#google_api_key', typed);
        // The token has expired (or the server's secret changed): the next call is answered 401.
        await page.evaluate(() => sessionStorage.setItem('byokit-example-access-token', 'an-expired-token'));
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#sign-in-message')).toBe('Your session has ended: log in again.');
        expect(await page.inputValue('#google_api_key')).toBe('');
        expect(await page.textContent('#keys-message')).toBe('');
        await page.fill('#username', 'next-at-the-tab@example.com');
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await expect.poll(() => page.textContent('#google-status')).toMatch(/^No Google key/);
        expect(await page.inputValue('#google_api_key')).toBe('');
        // "Save API Keys" pressed now saves nothing of the first user's.
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('Paste at least one API key first.');
        expect((await apiKeyStatus()).has_google_key).toBe(false);
      });

      it('a session that ends while the playground is open takes the question and answer away with it', async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'A question of mine');
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        await page.fill('#prompt', 'A second question of mine');
        await page.evaluate(() => sessionStorage.setItem('byokit-example-access-token', 'an-expired-token'));
        await page.click('#send');
        await expect.poll(() => page.textContent('#sign-in-message')).toBe('Your session has ended: log in again.');
        // Hidden itself, not only inside the hidden content: the next user to log in does not find it open.
        expect(await page.evaluate(() => document.getElementById('playground')!.hidden)).toBe(true);
        expect(await page.inputValue('#prompt')).toBe('');
        expect(await page.textContent('#answer')).toBe('');
        expect(await page.textContent('#answer-usage')).toBe('');
      });

      it('"Sign up" double-clicked creates the account and logs in once, with no "already exists" read out to a screen reader', async () => {
        const calls: string[] = [];
        page.on('request', (request) => {
          if (request.method() === 'POST') calls.push(new URL(request.url()).pathname);
        });
        await page.goto(`${origin}/profile`);
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await page.fill('#username', 'double-click@example.com');
        await page.fill('#password', password);
        await page.dblclick('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await page.waitForLoadState('networkidle');
        expect(calls).toEqual(['/v2/users/signup', '/v2/login/access-token']);
        // The message is an alert: a second sign-up's "A user with this email already exists." was read out, after
        // the account had been made and the user logged in.
        expect(await page.textContent('#sign-in-message')).toBe('');
      });

      it("a keyboard user's focus is kept where the page went: on the page's heading once logged in, on the email field once logged out", async () => {
        const focused = () => page.evaluate(() => (document.activeElement === document.body ? 'body' : document.activeElement!.outerHTML));
        await page.goto(`${origin}/profile`);
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await page.focus('#username');
        await page.keyboard.type(email);
        await page.keyboard.press('Tab');
        await page.keyboard.type(password);
        await page.keyboard.press('Enter');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        // The form that had the focus is hidden now: the focus goes to the page it opened, not back to its start.
        await expect.poll(focused).toMatch(/^<h1\b[^>]*>Profile<\/h1>$/);
        await page.focus('#sign-out');
        await page.keyboard.press('Enter');
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await expect.poll(focused).toMatch(/^<input id="username"/);
      });

      it('"Save API Keys" with the server out of reach says so and what to do, not the browser\'s "Failed to fetch"; a proxy\'s error page says to try again; the key stays in its field for that', async () => {
        await openSignedIn('/profile');
        const key = fakeProviderKey('openai');
        await page.fill('#openai_api_key', key);
        // The network down, or the server restarting: the request gets no answer at all.
        await page.route('**/v2/users/me/api-key', (route) => route.abort('internetdisconnected'));
        await page.click('#api-keys-form button[type=submit]');
        await expect
          .poll(() => page.textContent('#keys-message'))
          .toBe('Could not reach the server: check your connection, then try again.');
        expect(await page.getAttribute('#keys-message', 'class')).toContain('error');
        expect(await page.inputValue('#openai_api_key')).toBe(key);
        // A proxy in front of the server answers with an HTML page of its own, not the API's error shape.
        await page.unroute('**/v2/users/me/api-key');
        await page.route('**/v2/users/me/api-key', (route) =>
          route.fulfill({ status: 502, headers: { 'content-type': 'text/html' }, body: '<html><body>Bad Gateway</body></html>' }),
        );
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('The server could not answer (HTTP 502): try again in a moment.');
        expect((await apiKeyStatus()).has_openai_key).toBe(false);
        await page.unroute('**/v2/users/me/api-key');
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('API keys saved.');
        expect(await page.inputValue('#openai_api_key')).toBe('');
      });

      it('"Save API Keys" pressed twice while a save is on its way sends one request, and a key typed meanwhile in another field is kept there, not emptied unsaved', async () => {
        await openSignedIn('/profile');
        const patches: Array<Record<string, string>> = [];
        page.on('request', (request) => {
          if (request.method() === 'PATCH') patches.push(request.postDataJSON() as Record<string, string>);
        });
        // A slow server: the answer to the save comes a second later.
        await page.route('**/v2/users/me/api-key', async (route) => {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await route.continue();
        });
        await page.fill('#google_api_key', fakeProviderKey('google'));
        await page.dblclick('#api-keys-form button[type=submit]');
        await page.keyboard.press('Enter');
        const typedMeanwhile = fakeProviderKey('openai');
        await page.fill('#openai_api_key', typedMeanwhile);
        await expect.poll(() => page.textContent('#keys-message'), { timeout: 10_000 }).toBe('API keys saved.');
        expect(patches).toHaveLength(1);
        expect(await page.inputValue('#google_api_key')).toBe('');
        // Not sent with that save, so not saved: left for the user to save, rather than gone with "API keys saved.".
        expect(await page.inputValue('#openai_api_key')).toBe(typedMeanwhile);
        expect(Object.keys(patches[0]!)).toEqual(['google_api_key']);
        expect((await apiKeyStatus()).has_google_key).toBe(true);
        // The button works again once the save is done.
        await page.unroute('**/v2/users/me/api-key');
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('API keys saved.');
        expect(patches).toHaveLength(2);
        expect(patches[1]).toEqual({ openai_api_key: typedMeanwhile });
        expect(await page.inputValue('#openai_api_key')).toBe('');
        // Left as before: no OpenAI or Google key of this user's.
        for (const provider of ['openai', 'google']) {
          await fetch(`${server.base}/users/me/api-key?provider=${provider}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${await token()}` },
          });
        }
      });

      it('"Remove OpenAI key" pressed from the keyboard removes that key and leaves the focus on its field, not the start of the page', async () => {
        await openSignedIn('/profile');
        await page.fill('#openai_api_key', fakeProviderKey('openai'));
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('API keys saved.');
        await page.focus('.remove-key[data-provider="openai"]');
        await page.keyboard.press('Enter');
        await expect.poll(() => page.textContent('#openai-status')).toMatch(/^No OpenAI key/);
        expect(await page.isHidden('.remove-key[data-provider="openai"]')).toBe(true);
        expect((await apiKeyStatus()).has_openai_key).toBe(false);
        // The button pressed is hidden now: the focus goes to the field a new key would be pasted in.
        await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('openai_api_key');
      });

      it('at 320 px wide (a phone, or a page zoomed to 400 %) no page scrolls sideways: a table scrolls in a region of its own, which the keyboard reaches, and a long word wraps', async () => {
        await page.setViewportSize({ width: 320, height: 640 });
        const sideways = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        // An address with no place to break it, shown in the header once logged in.
        const longEmail = `narrow-${'x'.repeat(40)}@example.com`;
        await page.goto(`${origin}/profile`);
        await page.fill('#username', longEmail);
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await page.fill('#anthropic_api_key', fakeProviderKey('anthropic'));
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message')).toBe('API keys saved.');
        expect(await sideways(), '/profile').toBe(0);

        await page.goto(`${origin}/language-models`);
        await page.locator('#models tr').first().waitFor();
        expect(await sideways(), '/language-models').toBe(0);
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'Hello!');
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        // An answer may hold a word longer than the screen is wide: a link, say.
        const link = `https://example.com/${'a'.repeat(120)}`;
        const chunk = (delta: object, usage?: object) =>
          `data: ${JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index: 0, delta }], ...(usage ? { usage } : {}) })}\n\n`;
        await page.route('**/v2/llm/chat/completions', (route) =>
          route.fulfill({
            status: 200,
            headers: { 'content-type': 'text/event-stream' },
            body:
              chunk({ content: `See ${link}` }) +
              chunk({}, { total_tokens: 9, cost_usd: '0.000001', key_source: 'user' }) +
              'data: [DONE]\n\n',
          }),
        );
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer')).toBe(`See ${link}`);
        expect(await sideways(), 'a long word in the answer').toBe(0);

        await page.goto(`${origin}/language-models/billing`);
        await page.locator('#usage-by-model tbody tr').first().waitFor();
        expect(await sideways(), '/language-models/billing').toBe(0);
        // The tables wider than the screen scroll within the page; holding no button, each is a stop of the Tab key
        // (whence the arrow keys scroll it), named for what it shows.
        for (const name of ['By day', 'By model']) {
          const region = page.getByRole('region', { name });
          await region.focus();
          expect(await region.evaluate((element) => element === document.activeElement && element.scrollWidth > element.clientWidth)).toBe(
            true,
          );
        }
      });

      it('a tab opened with a token while the server cannot be reached says so, instead of an empty page', async () => {
        await context.addInitScript(() => sessionStorage.setItem('byokit-example-access-token', 'a-token'));
        // The server restarting, or the network down: the request for the user fails without an answer.
        await page.route('**/v2/users/me', (route) => route.abort('connectionrefused'));
        await page.goto(`${origin}/profile`);
        await expect.poll(() => page.locator('#sign-in-message').isVisible()).toBe(true);
        expect(await page.textContent('#sign-in-message')).toMatch(
          /^Could not load your account \(.+\): reload the page, or log in again\.$/,
        );
        expect(await page.isHidden('#content')).toBe(true);
      });

      it("Billing's rows by model come in the API's order, the same at every load, whichever model's name comes first", async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Haiku 4.5 now' }).click();
        await page.fill('#prompt', 'Hello!');
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        const authorization = { authorization: `Bearer ${await token()}` };
        // The Haiku call's record is written just after its answer, never waited for.
        await expect.poll(async () => (await usageOf(await token(), '?group_by=model')).groups.length).toBe(2);
        const byModel = await usageOf(await token(), '?group_by=model');
        const names: string[] = [];
        for (const group of byModel.groups) {
          names.push(
            ((await (await fetch(`${server.base}/llm-models/${group.key}`, { headers: authorization })).json()) as { display_name: string })
              .display_name,
          );
        }
        expect(names).toHaveLength(2);
        // The first model's name is the last to come.
        await page.route(`**/v2/llm-models/${byModel.groups[0]!.key}`, async (route) => {
          await new Promise((resolve) => setTimeout(resolve, 800));
          await route.continue();
        });
        await page.goto(`${origin}/language-models/billing`);
        await expect.poll(() => page.locator('#usage-by-model tbody tr').count(), { timeout: 10_000 }).toBe(2);
        expect(await page.locator('#usage-by-model tbody tr td:first-child').allTextContents()).toEqual(names);
      });

      it("Billing keeps every model's row when one model's name cannot be fetched: that row shows the model's id, and the page says what failed", async () => {
        const userToken = await server.login('billing-names@example.com', password);
        const headers = { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' };
        await fetch(`${server.base}/users/me/api-key`, {
          method: 'PATCH',
          headers,
          body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
        });
        const models = (await (await fetch(`${server.base}/llm-models/?is_active=true`, { headers })).json()) as {
          data: Array<{ id: string; provider: string; display_name: string }>;
        };
        for (const model of models.data.filter((each) => each.provider === 'anthropic').slice(0, 2)) {
          const answer = await fetch(`${server.base}/llm/chat/completions`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ model_id: model.id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 16 }),
          });
          expect(answer.status).toBe(200);
        }
        // Each call's record is written just after its answer, never waited for.
        await expect.poll(async () => (await usageOf(userToken, '?group_by=model')).groups).toHaveLength(2);
        const byModel = await usageOf(userToken, '?group_by=model');
        const [unnamed, named] = byModel.groups.map((group) => group.key);
        // One model's name gets no answer (the network down for that one call).
        await page.route(`**/v2/llm-models/${unnamed}`, (route) => route.abort('internetdisconnected'));
        await context.addInitScript((token) => sessionStorage.setItem('byokit-example-access-token', token), userToken);
        await page.goto(`${origin}/language-models/billing`);
        await expect
          .poll(() => page.textContent('#usage-message'), { timeout: 10_000 })
          .toBe('Could not reach the server: check your connection, then try again.');
        expect(await page.locator('#usage-by-model tbody tr td:first-child').allTextContents()).toEqual([
          unnamed,
          models.data.find((model) => model.id === named)!.display_name,
        ]);
      });

      // The guide: usage is tracked "for billing", with "both personal and system API keys". What the user's own key
      // cost is on their provider's bill; what the system key cost is the host's, which it may bill them for.
      it("Billing says whose key paid: a row for the user's own key and one for the system key, each with its cost", async () => {
        const admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
        const adminHeaders = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
        const userToken = await server.login('billing-keys@example.com', password);
        const headers = { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' };
        await fetch(`${server.base}/users/me/api-key`, {
          method: 'PATCH',
          headers,
          body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
        });
        await fetch(`${server.base}/admin/api-key`, {
          method: 'PATCH',
          headers: adminHeaders,
          body: JSON.stringify({ openai_api_key: fakeProviderKey('openai') }),
        });
        try {
          const models = (await (await fetch(`${server.base}/llm-models/?is_active=true`, { headers })).json()) as {
            data: Array<{ id: string; provider: string }>;
          };
          for (const provider of ['anthropic', 'openai']) {
            const model = models.data.find((each) => each.provider === provider)!;
            const answer = await fetch(`${server.base}/llm/chat/completions`, {
              method: 'POST',
              headers,
              body: JSON.stringify({ model_id: model.id, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 16 }),
            });
            expect(answer.status).toBe(200);
          }
          // Each call's record is written just after its answer.
          const usageByKey = async () =>
            (await (await fetch(`${server.base}/llm/usage/me?group_by=key_source`, { headers })).json()) as {
              groups: Array<{ key: string; cost_usd: string }>;
            };
          await expect.poll(async () => (await usageByKey()).groups.length).toBe(2);
          const byKey = await usageByKey();
          await context.addInitScript((token) => sessionStorage.setItem('byokit-example-access-token', token), userToken);
          await page.goto(`${origin}/language-models/billing`);
          await expect.poll(() => page.locator('#usage-by-key tbody tr').count(), { timeout: 10_000 }).toBe(2);
          const rows = await page
            .locator('#usage-by-key tbody tr')
            .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
          const costOf = (source: string) => `$${byKey.groups.find((group) => group.key === source)!.cost_usd}`;
          expect(rows.map((row) => [row[0], row[3]])).toEqual([
            ['the system key', costOf('system')],
            ['your key', costOf('user')],
          ]);
        } finally {
          await fetch(`${server.base}/admin/api-key?provider=openai`, { method: 'DELETE', headers: adminHeaders });
        }
      });

      it('the next user to log in at the tab after "Log out" never sees the first user\'s key hints or usage, not even while their own are on their way', async () => {
        const nextUser = async (name: string) => {
          await page.click('#sign-out');
          await page.locator('#sign-in').waitFor({ state: 'visible' });
          await page.fill('#username', `${name}@example.com`);
          await page.fill('#password', password);
          await page.click('#sign-up');
          await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        };
        // The next user's own answers are slow to come.
        const slowly = async (route: Route) => {
          await new Promise((resolve) => setTimeout(resolve, 1_000));
          await route.continue().catch(() => undefined);
        };

        await openSignedIn('/profile');
        await expect.poll(() => page.textContent('#anthropic-status')).toMatch(/^Your Anthropic key …/);
        await page.route('**/v2/users/me/api-key-status', slowly);
        await nextUser('after-profile');
        expect(await page.textContent('#anthropic-status')).not.toContain('…');
        expect(await page.isHidden('.remove-key[data-provider="anthropic"]')).toBe(true);
        await expect.poll(() => page.textContent('#anthropic-status'), { timeout: 10_000 }).toMatch(/^No Anthropic key/);

        await page.evaluate(() => sessionStorage.clear());
        await openSignedIn('/language-models/billing');
        await page.locator('#usage-by-model tbody tr').first().waitFor();
        await page.route('**/v2/llm/usage/me?*', slowly);
        await nextUser('after-billing');
        expect(await page.textContent('#usage-totals')).toBe('');
        expect(
          await page.locator('#usage-by-day tbody tr, #usage-by-model tbody tr, #usage-by-key tbody tr, #usage-chart > *').count(),
        ).toBe(0);
        await expect.poll(() => page.textContent('#usage-message'), { timeout: 10_000 }).toBe('No usage this month yet.');

        await page.evaluate(() => sessionStorage.clear());
        await openSignedIn('/language-models');
        await page.locator('#models tr').first().waitFor();
        await page.route('**/v2/llm-models/?*', slowly);
        await nextUser('after-models');
        expect(await page.locator('#models tr').count()).toBe(0);
        await expect.poll(() => page.textContent('#models-message'), { timeout: 10_000 }).toMatch(/^No models available\./);
      });

      it('an answer of the first user\'s that comes after "Log out" (their key hints, their save) is never shown to the next user to log in at the tab', async () => {
        const first = 'answer-on-its-way@example.com';
        const firstToken = await server.login(first, password);
        await fetch(`${server.base}/users/me/api-key`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${firstToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
        });
        // The first user's answers are held until they have logged out; the next user's come at once.
        let release = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        const held: Array<Promise<unknown>> = [];
        const holdTheFirst = async (route: Route) => {
          if (route.request().headers().authorization !== `Bearer ${firstToken}`) return route.continue();
          held.push(route.request().response());
          await released;
          await route.continue().catch(() => undefined);
        };
        await page.route('**/v2/users/me/api-key-status', holdTheFirst);
        await page.route('**/v2/users/me/api-key', holdTheFirst);
        await page.addInitScript((token) => sessionStorage.setItem('byokit-example-access-token', token), firstToken);
        await page.goto(`${origin}/profile`);
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await page.fill('#openai_api_key', fakeProviderKey('openai'));
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => held.length).toBe(2);
        await page.click('#sign-out');
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await page.fill('#username', 'next-after-answers@example.com');
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await expect.poll(() => page.textContent('#anthropic-status'), { timeout: 10_000 }).toMatch(/^No Anthropic key/);
        // The next user's own save goes at once: the first user's, still on its way, does not hold it up.
        await page.fill('#google_api_key', fakeProviderKey('google'));
        await page.click('#api-keys-form button[type=submit]');
        await expect.poll(() => page.textContent('#keys-message'), { timeout: 10_000 }).toBe('API keys saved.');
        await expect.poll(() => page.textContent('#google-status')).toMatch(/^Your Google key …/);
        release();
        await Promise.all(held);
        await page.waitForTimeout(500);
        expect(await page.textContent('#anthropic-status')).toMatch(/^No Anthropic key/);
        expect(await page.textContent('#openai-status')).toMatch(/^No OpenAI key/);
        expect(await page.isHidden('.remove-key[data-provider="anthropic"]')).toBe(true);
        expect(await page.textContent('#google-status')).toMatch(/^Your Google key …/);
        expect(await page.isVisible('#content')).toBe(true);
      });

      it('"Log out" while the page is still loading the first user\'s usage lets the next user log in at once, and the first user\'s "Stopped." is not left in the playground', async () => {
        const first = 'logs-out-while-loading@example.com';
        const firstToken = await server.login(first, password);
        await fetch(`${server.base}/users/me/api-key`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${firstToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
        });
        const logInAsFirst = async (path: string) => {
          await page.goto(`${origin}${path}`);
          await page.fill('#username', first);
          await page.fill('#password', password);
          await page.click('#sign-in-form button[type=submit]');
          await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        };
        // The first user's usage is slow to come (held until the end); the next user's comes at once.
        let release = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        let holding = true;
        await page.route('**/v2/llm/usage/me?*', async (route) => {
          if (!holding) return route.continue();
          await released;
          await route.continue().catch(() => undefined);
        });
        await logInAsFirst('/language-models/billing');
        await page.click('#sign-out');
        holding = false;
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await page.fill('#username', 'next-while-loading@example.com');
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        expect(await page.textContent('#signed-in-email')).toBe('next-while-loading@example.com');
        await expect.poll(() => page.textContent('#usage-message'), { timeout: 10_000 }).toBe('No usage this month yet.');
        release();

        // A streamed answer running at "Log out" is stopped, and says nothing of it in the next user's page.
        await page.evaluate(() => sessionStorage.clear());
        await logInAsFirst('/language-models');
        await page.route('**/v2/llm/chat/completions', () => new Promise<void>(() => {}));
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'A question of mine');
        await page.click('#send');
        await expect.poll(() => page.isVisible('#stop')).toBe(true);
        await page.click('#sign-out');
        await page.locator('#sign-in').waitFor({ state: 'visible' });
        await page.waitForTimeout(200);
        expect(await page.textContent('#answer-usage')).toBe('');
      });

      it('a call of the first user\'s that fails after "Log out" says nothing in the next user\'s page', async () => {
        let release = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        let holding = true;
        let failed: Promise<unknown> = Promise.resolve();
        await page.route('**/v2/users/me/api-key-status', async (route) => {
          if (!holding) return route.continue();
          failed = route.request().response();
          await released;
          await route.abort('internetdisconnected').catch(() => undefined);
        });
        await openSignedIn('/profile');
        await page.click('#sign-out');
        holding = false;
        await page.fill('#username', 'next-after-a-failure@example.com');
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await expect.poll(() => page.textContent('#anthropic-status'), { timeout: 10_000 }).toMatch(/^No Anthropic key/);
        release();
        await failed;
        await page.waitForTimeout(300);
        expect(await page.textContent('#keys-message')).toBe('');
      });

      it('a 401 to a call of the first user\'s that comes after "Log out" leaves the next user logged in', async () => {
        let release = () => {};
        const released = new Promise<void>((resolve) => (release = resolve));
        let holding = true;
        let answered: Promise<unknown> = Promise.resolve();
        await page.route('**/v2/users/me/api-key-status', async (route) => {
          if (!holding) return route.continue();
          answered = route.request().response();
          await released;
          // The first user's token has expired meanwhile.
          await route
            .fulfill({
              status: 401,
              contentType: 'application/json',
              body: JSON.stringify({ error: { code: 'unauthorized', message: 'Expired.' } }),
            })
            .catch(() => undefined);
        });
        await openSignedIn('/profile');
        await page.click('#sign-out');
        holding = false;
        await page.fill('#username', 'next-after-a-401@example.com');
        await page.fill('#password', password);
        await page.click('#sign-up');
        await page.locator('#content').waitFor({ state: 'visible', timeout: 10_000 });
        await expect.poll(() => page.textContent('#anthropic-status'), { timeout: 10_000 }).toMatch(/^No Anthropic key/);
        release();
        await answered;
        await page.waitForTimeout(300);
        expect(await page.isVisible('#content')).toBe(true);
        expect(await page.textContent('#sign-in-message')).not.toBe('Your session has ended: log in again.');
        expect(await token()).not.toBeNull();
      });

      it('a tab opened with a token that is no longer valid (401) asks the user to log in again', async () => {
        await context.addInitScript(() => sessionStorage.setItem('byokit-example-access-token', 'not-a-token'));
        await page.goto(`${origin}/profile`);
        await expect.poll(() => page.textContent('#sign-in-message')).toBe('Your session has ended: log in again.');
        expect(await page.isVisible('#sign-in')).toBe(true);
        expect(await token()).toBeNull();
      });

      it("a model's name an admin gave with markup in it is shown as text in the models' table and the playground, never run or drawn as HTML", async () => {
        const markup = '<img src=x onerror="document.title=\'ran\'"><b>Bold</b> model';
        const admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
        const created = await fetch(`${server.base}/llm-models/`, {
          method: 'POST',
          headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            provider: 'anthropic',
            model: 'claude-markup-test',
            display_name: markup,
            context_window: 1000,
            max_output_tokens: 100,
            pricing: { input_per_mtok_usd: '1', output_per_mtok_usd: '2' },
          }),
        });
        expect(created.status).toBe(201);
        await openSignedIn('/language-models');
        const row = page.locator('#models tr').filter({ hasText: 'Bold' });
        await row.first().waitFor();
        expect(await row.locator('td:first-child').textContent()).toBe(markup);
        expect(await page.locator('#models img, #models b').count()).toBe(0);
        await page.getByRole('button', { name: `Try ${markup} now` }).click();
        expect(await page.textContent('#playground-model')).toBe(markup);
        expect(await page.locator('#playground-title img, #playground-title b').count()).toBe(0);
        expect(await page.title()).toBe('Language Models · byokit example');
      });

      it('Profile says "refused by Anthropic" of a key its provider refused on a call, and "checked with Anthropic" once a call goes through', async () => {
        await openSignedIn('/language-models');
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'Hello!');
        server.mockProviders!.reset();
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        const key = server.mockProviders!.requests[0]!.key!;
        // The verdict is written just after the answer, never waited for: Profile, opened anew, shows it once written.
        const statusOnProfile = async () => {
          await page.goto(`${origin}/profile`);
          await expect.poll(() => page.textContent('#anthropic-status')).toMatch(/^Your Anthropic key …/);
          return page.textContent('#anthropic-status');
        };
        // The user's key revoked at Anthropic: its next call is refused.
        server.mockProviders!.rejectKeys.add(key);
        try {
          await page.click('#send');
          await expect.poll(() => page.getAttribute('#answer-usage', 'class'), { timeout: 10_000 }).toContain('error');
          expect(await page.textContent('#answer-usage')).toMatch(/This is your personal key: enter a working one in your profile/);
          await expect
            .poll(statusOnProfile, { timeout: 10_000 })
            .toBe(`Your Anthropic key …${key.slice(-4)} is saved (refused by Anthropic).`);
        } finally {
          server.mockProviders!.rejectKeys.delete(key);
        }
        await page.goto(`${origin}/language-models`);
        await page.getByRole('button', { name: 'Try Claude Sonnet 4.5 now' }).click();
        await page.fill('#prompt', 'Hello!');
        await page.click('#send');
        await expect.poll(() => page.textContent('#answer-usage'), { timeout: 10_000 }).toMatch(/paid by your key\.$/);
        await expect
          .poll(statusOnProfile, { timeout: 10_000 })
          .toBe(`Your Anthropic key …${key.slice(-4)} is saved (checked with Anthropic).`);
      });
    });
  });
}
