import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeProviderKey } from '@byokit/core/testing';
import { loadPage, scriptHelpers } from './fake-page.js';
import { startTestServer } from './test-server.js';
import type { ExampleServer } from './example-server.js';

const GUIDE_MODEL = '564e8710-43a9-406f-b0ab-e8d651a33e82';

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

    /** Opens a page and logs in through its form, as a user does; resolves once the page shows its content. */
    async function openSignedIn(path: string) {
      const tab = loadPage(script, { path, html: pages.get(path)! }, origin);
      tab.element('username').value = email;
      tab.element('password').value = password;
      tab.element('sign-in-form').dispatch('submit');
      await vi.waitFor(() => expect(tab.element('content').hidden).toBe(false), { timeout: 10_000 });
      // Every element the script reached for is in the page it runs on.
      for (const id of tab.idsUsed) expect(pages.get(path), `#${id} on ${path}`).toContain(`id="${id}"`);
      return tab;
    }

    it('serves /profile, /language-models and /language-models/billing as HTML pages, with their script and style sheet', async () => {
      for (const path of ['/profile', '/language-models', '/language-models/billing']) {
        const response = await fetch(`${origin}${path}`);
        expect(response.status, path).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
        expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
        expect(response.headers.get('x-request-id')).toBeTruthy();
        const html = await response.text();
        expect(html).toContain('<script defer src="/assets/byokit-pages.js"></script>');
        expect(html).toContain('<link rel="stylesheet" href="/assets/byokit-pages.css">');
      }
      const js = await fetch(`${origin}/assets/byokit-pages.js`);
      expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      const css = await fetch(`${origin}/assets/byokit-pages.css`);
      expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
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
      expect(pages.get('/language-models')).toContain('<h1>Language Models</h1>');
      expect(pages.get('/language-models/billing')).toContain('<h1>Billing</h1>');
      expect(pages.get('/language-models/billing')).toContain('<h2 id="my-usage">My Usage</h2>');
    });

    it('a page without a token asks the user to log in first', () => {
      const tab = loadPage(script, { path: '/profile', html: pages.get('/profile')! }, origin);
      expect(tab.element('sign-in').hidden).toBe(false);
      expect(tab.element('content').hidden).toBe(true);
    });

    it('Language Models says "No models available" while the user has configured no key', async () => {
      const tab = await openSignedIn('/language-models');
      await vi.waitFor(() => expect(tab.element('models-message').textContent).toMatch(/^No models available\./));
      expect(tab.element('models-table').hidden).toBe(true);
    });

    it("Profile refuses a placeholder key with the API's message, and saves nothing", async () => {
      const tab = await openSignedIn('/profile');
      tab.element('anthropic_api_key').value = 'sk-ant-api03-YOUR-REAL-KEY-HERE';
      tab.element('api-keys-form').dispatch('submit');
      await vi.waitFor(() => expect(tab.element('keys-message').textContent).toMatch(/stand-in, not a real key/));
      expect(tab.element('keys-message').classList.contains('error')).toBe(true);
      const token = tab.sessionStorage.getItem('byokit-example-access-token');
      const status = await (
        await fetch(`${server.base}/users/me/api-key-status`, { headers: { authorization: `Bearer ${token}` } })
      ).json();
      expect(status.has_anthropic_key).toBe(false);
    });

    it('Profile saves the key pasted in "Anthropic API Key" with "Save API Keys", then shows only its last four characters', async () => {
      const key = fakeProviderKey('anthropic');
      const tab = await openSignedIn('/profile');
      await vi.waitFor(() => expect(tab.element('anthropic-status').textContent).toMatch(/^No Anthropic key/));
      tab.element('anthropic_api_key').value = key;
      tab.element('api-keys-form').dispatch('submit');
      await vi.waitFor(() => expect(tab.element('keys-message').textContent).toBe('API keys saved.'));
      expect(tab.element('anthropic-status').textContent).toContain(`…${key.slice(-4)}`);
      expect(tab.element('anthropic-status').textContent).not.toContain(key.slice(0, 16));
      // The key leaves the page once saved; the other providers' fields were left alone.
      expect(tab.element('anthropic_api_key').value).toBe('');
      expect(tab.element('openai-status').textContent).toMatch(/^No OpenAI key/);
      const token = tab.sessionStorage.getItem('byokit-example-access-token');
      const status = await (
        await fetch(`${server.base}/users/me/api-key-status`, { headers: { authorization: `Bearer ${token}` } })
      ).json();
      expect([status.has_anthropic_key, status.has_openai_key, status.has_google_key]).toEqual([true, false, false]);
    });

    it('Language Models then lists the Anthropic models, and "Try Now" streams an answer paid by the user\'s key', async () => {
      const tab = await openSignedIn('/language-models');
      await vi.waitFor(() => expect(tab.element('models').children.length).toBeGreaterThan(0));
      expect(tab.element('models-table').hidden).toBe(false);
      const rows = tab.element('models').children;
      expect(rows.map((row) => row.children[1]!.textContent)).toEqual(rows.map(() => 'anthropic'));
      const guideModel = rows.find((row) => row.children[0]!.textContent === 'Claude Sonnet 4.5')!;
      const tryNow = guideModel.children[5]!.children[0]!;
      expect(tryNow.textContent).toBe('Try Now');
      expect(tab.element('playground').hidden).toBe(true);
      tryNow.dispatch('click');
      expect(tab.element('playground').hidden).toBe(false);
      tab.element('prompt').value = 'Hello!';
      server.mockProviders!.reset();
      tab.element('playground-form').dispatch('submit');
      await vi.waitFor(() => expect(tab.element('answer-usage').textContent).toMatch(/paid by your key\.$/), { timeout: 10_000 });
      expect(tab.element('answer').textContent.length).toBeGreaterThan(0);
      expect(server.mockProviders!.requests).toHaveLength(1);
      expect(server.mockProviders!.requests[0]).toMatchObject({
        provider: 'anthropic',
        body: { model: 'claude-sonnet-4-5', stream: true },
      });
    });

    it("Billing shows that call under My Usage: the month's totals and the model by its name", async () => {
      const tab = await openSignedIn('/language-models/billing');
      await vi.waitFor(() => expect(tab.select('#usage-by-model tbody')?.children).toHaveLength(1));
      expect(tab.element('usage-totals').textContent).toMatch(/^Requests1Tokens\d+Cost\$0\.\d+$/);
      expect(tab.select('#usage-by-model tbody')!.children[0]!.children[0]!.textContent).toBe('Claude Sonnet 4.5');
      expect(tab.select('#usage-by-day tbody')!.children).toHaveLength(1);
      expect(tab.element('usage-chart').children).toHaveLength(1);
    });

    it('a tab opened with a token that is no longer valid (401) asks the user to log in again', async () => {
      const tab = loadPage(script, { path: '/profile', html: pages.get('/profile')! }, origin, {
        'byokit-example-access-token': 'not-a-token',
      });
      await vi.waitFor(() => expect(tab.element('sign-in-message').textContent).toBe('Your session has ended: log in again.'));
      expect(tab.element('sign-in').hidden).toBe(false);
      expect(tab.sessionStorage.getItem('byokit-example-access-token')).toBeNull();
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
    });
  });
}
