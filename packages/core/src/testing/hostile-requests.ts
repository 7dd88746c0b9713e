// Seeded random requests through byokit's routes, as any client can send them: valid requests with fields left
// out, replaced by hostile values (NUL, lone surrogates, huge numbers, wrong types, prototype keys) or added, on
// hostile paths and queries. Whatever a client sends, the answer is never a 5xx (spec/security.md). The storage
// conformance suite runs it on every storage: what one storage cannot hold (PostgreSQL's text and U+0000) must
// be refused before it gets there.
import { createByokit } from '../byokit.js';
import { Keyring } from '../crypto/keyring.js';
import { call } from '../http/test-helpers.js';
import type { Principal } from '../http/types.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import type { Storage } from '../storage/storage.js';
import { startMockProviders } from './mock-providers.js';
import { seededRandom } from './seeded-random.js';

/** What a run of hostile requests got. */
export interface HostileRun {
  /** How many answers each route family got, by status: `POST /llm-models 201` → 3. */
  statuses: Map<string, number>;
  /** Every answer that was a 5xx, or a request that threw. */
  failures: Array<{ method: string; url: string; body: string | undefined; status: number | 'threw'; text: string }>;
}

const admin: Principal = { userId: 'hostile-admin', isAdmin: true };
const user: Principal = { userId: 'hostile-user', isAdmin: false };

const HOSTILE_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  4294967296,
  '',
  ' ',
  'x'.repeat(5000),
  '\u0000',
  'a\u0000b',
  '\ud800',
  'a\u2028b',
  'NaN',
  'Infinity',
  '__proto__',
  'constructor',
  [],
  [null],
  ['x'],
  {},
  { a: 1 },
  'user',
  'system',
  'assistant',
  'tool',
  [{ role: 'user', content: 'hi' }],
  Array(200).fill('s'),
  '00000000-0000-0000-0000-000000000000',
];
const EXTRA_FIELDS = [
  '__proto__',
  'constructor',
  'extra',
  'user_id',
  'owner_type',
  'is_admin',
  'base_url',
  'n',
  'tools',
  'stream_options',
  'top_k',
];
/** Queries no route expects, or expects otherwise: bad values, repeats, bad escapes. */
export const HOSTILE_QUERIES = [
  '',
  '?is_active=true',
  '?all=true',
  '?is_active=maybe',
  '?all=1&all=0',
  '?provider=google',
  '?provider=%00',
  '?limit=-1',
  '?limit=1e9',
  '?limit=abc',
  '?cursor=%00',
  '?cursor=AAAA',
  '?from=2026-13-01',
  '?from=x&to=y',
  '?from=0001-01-01&to=9999-12-31',
  '?from=275760-09-13T00:00:00Z',
  '?group_by=provider',
  '?group_by=__proto__',
  '?user_id=%00',
  '?user_id=a%00b',
  '?user_id=%F0%9F%98%80',
  '?__proto__=x',
  '?%E0%A4%A=1',
  // A body's field in the query of a route that takes it in its body.
  '?is_active=false',
  '?stream=true',
  '?monthly_limit_usd=5',
];

/**
 * A mutator of JSON values drawing on `random`: the value itself replaced by a hostile one now and then, else
 * each field or item kept, left out, or mutated in turn, and sometimes a field added that no route accepts.
 */
export function hostileJson(random: () => number): (value: unknown) => unknown {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const mutate = (value: unknown): unknown => {
    if (random() < 0.15) return pick(HOSTILE_VALUES);
    if (Array.isArray(value)) return value.map((item) => (random() < 0.5 ? mutate(item) : item));
    if (value === null || typeof value !== 'object') return value;
    const copy: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(value)) if (random() > 0.1) copy[name] = random() < 0.4 ? mutate(field) : field;
    if (random() < 0.15) copy[pick(EXTRA_FIELDS)] = pick(HOSTILE_VALUES);
    return copy;
  };
  return mutate;
}

/**
 * Sends `count` seeded hostile requests through a byokit on `storage` (with the mock providers behind system keys
 * of all three providers, so that chat requests that pass validation reach a provider), as an admin and as a user.
 */
export async function sendHostileRequests(storage: Storage, { seed, count }: { seed: number; count: number }): Promise<HostileRun> {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const mutate = hostileJson(random);

  const mock = await startMockProviders();
  const byokit = await createByokit({
    storage: borrowed(storage),
    keyring: Keyring.from([{ id: 'k1', key: crypto.getRandomValues(new Uint8Array(32)) }]),
    environment: {
      ANTHROPIC_API_KEY: fakeProviderKey('anthropic'),
      OPENAI_API_KEY: fakeProviderKey('openai'),
      GEMINI_API_KEY: fakeProviderKey('google'),
    },
    providers: {
      anthropic: { baseUrl: mock.baseUrls.anthropic },
      openai: { baseUrl: mock.baseUrls.openai },
      google: { baseUrl: mock.baseUrls.google },
    },
  });
  const run: HostileRun = { statuses: new Map(), failures: [] };
  try {
    const models = (await call(byokit, 'GET', '/llm-models/?all=true', { principal: admin }))!.json.data as Array<{
      id: string;
      model: string;
    }>;
    const requests: Array<() => [method: string, url: string, body?: unknown]> = [
      () => [
        'POST',
        '/llm/chat/completions',
        mutate({
          model_id: pick(models).id,
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hello!' },
          ],
          max_tokens: 50,
          temperature: 0.5,
          stream: random() < 0.5,
        }),
      ],
      () => [
        'POST',
        '/openai/v1/chat/completions',
        mutate({ model: pick(models).model, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 50, stream: random() < 0.5 }),
      ],
      () => ['PATCH', '/users/me/api-key', mutate({ anthropic_api_key: fakeProviderKey('anthropic'), openai_api_key: null })],
      () => ['PATCH', '/admin/api-key', mutate({ google_api_key: fakeProviderKey('google') })],
      () => [
        'POST',
        '/llm-models',
        mutate({
          provider: pick(['openai', 'anthropic', 'google']),
          model: `hostile-${Math.floor(random() * 1e6)}`,
          display_name: 'Hostile',
          context_window: 1000,
          max_output_tokens: 100,
          pricing: { input_per_mtok_usd: '1', output_per_mtok_usd: '2' },
        }),
      ],
      () => [
        'PATCH',
        `/llm-models/${pick(models).id}`,
        mutate({ display_name: 'Renamed', max_output_tokens: 100, context_window: 200_000, pricing: null }),
      ],
      () => [
        'PUT',
        `/admin/users/${pick(['hostile-user', '%00', 'a%00b', '..', '%ED%A0%80', 'x'.repeat(300)])}/budget`,
        mutate({ monthly_limit_usd: '10.50', applies_to: 'all' }),
      ],
      () => [
        'GET',
        pick([
          '/llm-models/',
          '/llm/usage/me',
          '/llm/usage/me/events',
          '/admin/usage',
          '/openai/v1/models',
          '/users/me/budget',
          '/admin/api-key-status',
          '/users/me/api-key-status',
        ]) + pick(HOSTILE_QUERIES),
      ],
      () => ['GET', `/llm-models/${pick(['x', '%zz', '%00', '00000000-0000-0000-0000-000000000000', models[0]!.id.toUpperCase()])}`],
      () => ['DELETE', `/users/me/api-key?provider=${pick(['openai', 'anthropic', '%00', 'x'])}`],
    ];
    for (let index = 0; index < count; index++) {
      const [method, url, body] = pick(requests)();
      const principal = random() < 0.7 ? admin : user;
      const family = `${method} ${url.split('?')[0]!.replace(/^\/(llm-models|admin\/users)\/[^/]+/, '/$1/:id')}`;
      try {
        const answer = (await call(byokit, method, url, { principal, body })) ?? { status: 404, text: '' };
        const key = `${family} ${answer.status}`;
        run.statuses.set(key, (run.statuses.get(key) ?? 0) + 1);
        if (answer.status >= 500)
          run.failures.push({ method, url, body: JSON.stringify(body), status: answer.status, text: answer.text.slice(0, 300) });
      } catch (error) {
        run.failures.push({ method, url, body: JSON.stringify(body), status: 'threw', text: String(error) });
      }
    }
  } finally {
    // Waits for the usage records still being written, ends the provider connections; the storage stays open.
    await byokit.close();
    await mock.close();
  }
  return run;
}

/** `storage` without its `close`, which stays the caller's to call: each method bound to the storage itself. */
export function borrowed(storage: Storage): Storage {
  return new Proxy(storage, {
    get(target, name) {
      if (name === 'close') return undefined;
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
