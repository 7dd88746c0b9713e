import { KEY_FIELDS, PAGES_SCRIPT } from './pages-script.js';
import { PAGES_STYLE } from './pages-style.js';

/**
 * The pages the user guide sends its reader to (seed/user-api-key-guide.md, steps 2 and 3 and "Usage Tracking"):
 * `/profile` (its "API Configuration" section), `/language-models` (the models, "Try Now" → a playground) and
 * `/language-models/billing` (My Usage). Plain HTML, one script and one style sheet, all static: every page
 * signs in and reads and writes through the same /v2 API the guide's curl commands use, with the access token
 * kept in the tab's sessionStorage. No key ever reaches a page but as the API shows it (its last four characters).
 */
export interface ExamplePage {
  status: 200;
  headers: Record<string, string>;
  body: string;
}

/** The page paths, as the guide names them. */
export const PAGE_PATHS = ['/profile', '/language-models', '/language-models/billing'] as const;
export const SCRIPT_PATH = '/assets/byokit-pages.js';
export const STYLE_PATH = '/assets/byokit-pages.css';
/** Every path {@link examplePage} answers. */
export const STATIC_PATHS = [...PAGE_PATHS, SCRIPT_PATH, STYLE_PATH] as const;

/**
 * Only this origin's script and style sheet run, and the pages talk only to this origin's API: a model's name or an
 * error message is put in as text (never as HTML), and even a slip there could run no script of another's.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON_HEADERS = {
  // Static, but a new deploy must be seen at the next load: revalidated, never served stale.
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const NAVIGATION: ReadonlyArray<readonly [string, string]> = [
  ['/profile', 'Profile'],
  ['/language-models', 'Language Models'],
  ['/language-models/billing', 'Billing'],
];

function layout(path: (typeof PAGE_PATHS)[number], title: string, content: string): string {
  const links = NAVIGATION.map(([href, label]) => `<a href="${href}"${href === path ? ' aria-current="page"' : ''}>${label}</a>`).join(
    '\n        ',
  );
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${title} · byokit example</title>
    <link rel="stylesheet" href="${STYLE_PATH}">
    <script defer src="${SCRIPT_PATH}"></script>
  </head>
  <body data-page="${path}">
    <header>
      <nav aria-label="Main">
        ${links}
      </nav>
      <p id="signed-in" hidden>Signed in as <span id="signed-in-email"></span> <button type="button" id="sign-out">Log out</button></p>
    </header>
    <main>
      <h1 tabindex="-1">${title}</h1>
      <noscript><p>These pages need JavaScript: they call the /v2 API from your browser.</p></noscript>
      <section id="sign-in" hidden aria-labelledby="sign-in-title">
        <h2 id="sign-in-title">Log in</h2>
        <form id="sign-in-form">
          <label for="username">Email</label>
          <input id="username" name="username" type="email" autocomplete="username" required>
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required>
          <button type="submit">Log in</button>
          <button type="button" id="sign-up">Sign up</button>
        </form>
        <p id="sign-in-message" role="alert"></p>
      </section>
      <div id="content" hidden>
${content}
      </div>
    </main>
  </body>
</html>
`;
}

function keyField(provider: string, label: string, placeholder: string): string {
  return `          <div class="field">
            <label for="${provider}_api_key">${label} API Key</label>
            <input id="${provider}_api_key" name="${provider}_api_key" type="password" autocomplete="off" spellcheck="false" placeholder="${placeholder}" aria-describedby="${provider}-status">
            <p class="key-status" id="${provider}-status"></p>
            <button type="button" class="remove-key" data-provider="${provider}" hidden>Remove ${label} key</button>
          </div>`;
}

const PROFILE = `        <section aria-labelledby="api-configuration">
          <h2 id="api-configuration">API Configuration</h2>
          <p>Your keys take priority over the system keys an admin set. They are stored encrypted and never shown
          again: only their last four characters. A field left empty leaves that key as it is.</p>
          <form id="api-keys-form">
${Object.entries(KEY_FIELDS)
  .map(([provider, { label, placeholder }]) => keyField(provider, label, placeholder))
  .join('\n')}
            <button type="submit">Save API Keys</button>
          </form>
          <p id="keys-message" role="status" aria-live="polite"></p>
          <button type="button" id="remove-all-keys">Delete all my API keys</button>
        </section>`;

const LANGUAGE_MODELS = `        <p id="models-message" role="status" aria-live="polite"></p>
        <div class="table-scroll">
          <table id="models-table" hidden>
            <caption>The models you can use now</caption>
            <thead>
              <tr><th scope="col">Model</th><th scope="col">Provider</th><th scope="col">Paid by</th><th scope="col">Context window</th><th scope="col">Price per million tokens (input / output)</th><th scope="col"><span class="visually-hidden">Try it</span></th></tr>
            </thead>
            <tbody id="models"></tbody>
          </table>
        </div>
        <section id="playground" hidden aria-labelledby="playground-title">
          <h2 id="playground-title">Playground: <span id="playground-model"></span></h2>
          <form id="playground-form">
            <label for="prompt">Message</label>
            <textarea id="prompt" name="prompt" rows="4" required></textarea>
            <button type="submit" id="send">Send</button>
            <button type="button" id="stop" hidden>Stop</button>
          </form>
          <div id="answer" aria-live="polite"></div>
          <p id="answer-usage" role="status" aria-live="polite"></p>
        </section>`;

const BILLING = `        <section aria-labelledby="my-usage">
          <h2 id="my-usage">My Usage</h2>
          <p id="usage-message" role="status" aria-live="polite"></p>
          <dl id="usage-totals"></dl>
          <h3 id="by-day">By day</h3>
          <div id="usage-chart" class="chart"></div>
          <div class="table-scroll" role="region" aria-labelledby="by-day" tabindex="0">
            <table id="usage-by-day">
              <thead><tr><th scope="col">Day (UTC)</th><th scope="col">Requests</th><th scope="col">Tokens</th><th scope="col">Cost (USD)</th></tr></thead>
              <tbody></tbody>
            </table>
          </div>
          <h3 id="by-model">By model</h3>
          <div class="table-scroll" role="region" aria-labelledby="by-model" tabindex="0">
            <table id="usage-by-model">
              <thead><tr><th scope="col">Model</th><th scope="col">Requests</th><th scope="col">Tokens</th><th scope="col">Cost (USD)</th></tr></thead>
              <tbody></tbody>
            </table>
          </div>
          <h3 id="by-key">By whose key paid</h3>
          <p>Your key's calls are on your provider's bill; the system key's are on this service's.</p>
          <div class="table-scroll" role="region" aria-labelledby="by-key" tabindex="0">
            <table id="usage-by-key">
              <thead><tr><th scope="col">Paid by</th><th scope="col">Requests</th><th scope="col">Tokens</th><th scope="col">Cost (USD)</th></tr></thead>
              <tbody></tbody>
            </table>
          </div>
        </section>`;

function page(body: string, contentType: string): ExamplePage {
  return { status: 200, headers: { 'content-type': contentType, ...COMMON_HEADERS }, body };
}

function html(body: string): ExamplePage {
  const headers = { 'content-type': 'text/html; charset=utf-8', ...COMMON_HEADERS, 'content-security-policy': CONTENT_SECURITY_POLICY };
  return { status: 200, headers, body };
}

const PAGES: Record<(typeof STATIC_PATHS)[number], ExamplePage> = {
  '/profile': html(layout('/profile', 'Profile', PROFILE)),
  '/language-models': html(layout('/language-models', 'Language Models', LANGUAGE_MODELS)),
  '/language-models/billing': html(layout('/language-models/billing', 'Billing', BILLING)),
  [SCRIPT_PATH]: page(PAGES_SCRIPT, 'text/javascript; charset=utf-8'),
  [STYLE_PATH]: page(PAGES_STYLE, 'text/css; charset=utf-8'),
};

/** The page or asset at `path` (as {@link STATIC_PATHS} lists them), for a GET or HEAD. */
export function examplePage(path: (typeof STATIC_PATHS)[number]): ExamplePage {
  return PAGES[path];
}
