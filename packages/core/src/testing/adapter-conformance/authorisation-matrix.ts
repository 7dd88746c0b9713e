// spec/security.md, "Who may do what": every route × {anonymous, user, other user, admin} through the adapter,
// with the expected status for each cell, and storage (and the providers) untouched by every refused call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { userOwner } from '../../storage/storage.js';
import { documentedRoutes, uncoveredRoutes } from './documented-routes.js';
import { sendOverHttp, setKeysThroughCore, type Exchange } from './exchange.js';
import { ANTHROPIC_MODEL, GOOGLE_MODEL } from './scenarios.js';
import type { MountAdapter, MountedAdapter } from './types.js';
import { authenticate, PRINCIPALS, randomKeyring, sideState, startSide, type Caller, type Side } from './world.js';

/** Who may call a route: anyone, any signed-in user, or admins only. */
type Access = 'public' | 'user' | 'admin';

/** One route as the matrix calls it: a request that would change something if it were wrongly allowed. */
interface MatrixRow {
  method: string;
  path: string;
  access: Access;
  /** The body, made anew for each call (a model added twice would conflict). */
  json?: () => unknown;
  /** The status of an allowed call; default 200. */
  allowed?: number;
}

/** The user whose budget the matrix tries to set. */
const BUDGET_TARGET = 'conformance-budget-target';
let modelCounter = 0;
const chat = () => ({ model_id: GOOGLE_MODEL.id, messages: [{ role: 'user', content: 'Hello!' }] });

const ROWS: readonly MatrixRow[] = [
  { method: 'GET', path: '/openapi.json', access: 'public' },
  { method: 'GET', path: '/users/me/api-key-status', access: 'user' },
  { method: 'PATCH', path: '/users/me/api-key', access: 'user', json: () => ({ anthropic_api_key: fakeProviderKey('anthropic') }) },
  { method: 'DELETE', path: '/users/me/api-key?provider=openai', access: 'user' },
  { method: 'GET', path: '/admin/api-key-status', access: 'admin' },
  { method: 'PATCH', path: '/admin/api-key', access: 'admin', json: () => ({ anthropic_api_key: fakeProviderKey('anthropic') }) },
  { method: 'DELETE', path: '/admin/api-key?provider=anthropic', access: 'admin' },
  { method: 'GET', path: '/llm-models/?is_active=true', access: 'user' },
  { method: 'GET', path: '/llm-models/?all=true', access: 'admin' },
  { method: 'GET', path: `/llm-models/${ANTHROPIC_MODEL.id}`, access: 'user' },
  {
    method: 'POST',
    path: '/llm-models/',
    access: 'admin',
    allowed: 201,
    json: () => ({
      provider: 'openai',
      model: `matrix-model-${++modelCounter}`,
      display_name: 'Matrix',
      context_window: 1000,
      max_output_tokens: 100,
      pricing: null,
    }),
  },
  { method: 'PATCH', path: `/llm-models/${ANTHROPIC_MODEL.id}`, access: 'admin', json: () => ({ display_name: 'Renamed by the matrix' }) },
  { method: 'POST', path: '/llm/chat/completions', access: 'user', json: chat },
  {
    method: 'POST',
    path: '/openai/v1/chat/completions',
    access: 'user',
    json: () => ({ model: GOOGLE_MODEL.model, messages: [{ role: 'user', content: 'Hello!' }] }),
  },
  { method: 'GET', path: '/openai/v1/models', access: 'user' },
  { method: 'GET', path: `/openai/v1/models/${GOOGLE_MODEL.model}`, access: 'user' },
  { method: 'GET', path: '/llm/usage/me?group_by=model', access: 'user' },
  { method: 'GET', path: '/llm/usage/me/events?limit=5', access: 'user' },
  { method: 'GET', path: '/admin/usage?group_by=user', access: 'admin' },
  { method: 'GET', path: '/users/me/budget', access: 'user' },
  { method: 'PUT', path: `/admin/users/${BUDGET_TARGET}/budget`, access: 'admin', json: () => ({ monthly_limit_usd: '5' }) },
];

const CALLERS = ['anonymous', 'user', 'otherUser', 'admin'] as const satisfies readonly Caller[];

function expectedStatus(row: MatrixRow, caller: (typeof CALLERS)[number]): number {
  const allowed = row.allowed ?? 200;
  if (row.access === 'public') return allowed;
  if (caller === 'anonymous') return 401;
  if (row.access === 'admin' && caller !== 'admin') return 403;
  return allowed;
}

/** Everything a call could change: keys, the audit trail, a budget, the catalog, the providers, and usage. */
async function snapshot(side: Side): Promise<string> {
  const usage = (await side.storage.listUsage({ limit: 1000 })).records.length;
  return JSON.stringify({ state: await sideState(side, [BUDGET_TARGET]), usage });
}

/** One user's key rows, for checking that another user's call left them alone. */
async function keysOf(side: Side, caller: 'user' | 'otherUser'): Promise<string> {
  const rows = await side.storage.listKeys(userOwner(PRINCIPALS[caller].userId));
  return JSON.stringify(rows.map((key) => ({ ...key, envelope: [...key.envelope] })));
}

export function describeAuthorisationMatrix(mount: MountAdapter, prefix: string): void {
  describe('who may do what: every route × {anonymous, user, other user, admin}', () => {
    let side: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      side = await startSide({ keyring: randomKeyring(), environment: {}, prefix });
      adapter = await mount({ byokit: side.byokit, authenticate, prefix });
      // Everyone has a Google key, and there is a system one: every allowed chat can be answered.
      const setUp = (as: Caller, path: string) =>
        setKeysThroughCore(side.byokit, prefix, as, path, { google_api_key: fakeProviderKey('google') });
      for (const caller of ['user', 'otherUser', 'admin'] as const) expect(await setUp(caller, '/users/me/api-key')).toBe(200);
      expect(await setUp('admin', '/admin/api-key')).toBe(200);
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    it('has a row for every route the API description lists', async () => {
      expect(uncoveredRoutes(await documentedRoutes(side.byokit), ROWS)).toEqual([]);
    });

    for (const row of ROWS) {
      for (const caller of CALLERS) {
        const status = expectedStatus(row, caller);
        it(`${row.method} ${row.path} as ${caller} → ${status}`, async () => {
          const before = await snapshot(side);
          const otherCaller = caller === 'user' ? 'otherUser' : caller === 'otherUser' ? 'user' : undefined;
          const othersKeys = otherCaller && (await keysOf(side, otherCaller));
          const json = row.json?.();
          const exchange: Exchange = {
            method: row.method,
            url: `${prefix}${row.path}`,
            as: caller,
            ...(json !== undefined && { body: new TextEncoder().encode(JSON.stringify(json)), contentType: 'application/json' }),
            requestId: 'conformance-matrix',
          };
          const answer = await sendOverHttp(adapter.baseUrl, exchange);
          expect(answer.status).toBe(status);
          if (status === 401 || status === 403) {
            const body = JSON.parse(answer.pieces.join('')) as { error: { code: string } };
            expect(body.error.code).toBe(status === 401 ? 'unauthenticated' : 'forbidden');
            // RFC 9110 §11.6.1: a 401 carries a challenge; a 403 none.
            expect(answer.headers['www-authenticate']).toBe(status === 401 ? 'Bearer' : undefined);
            expect(await snapshot(side)).toBe(before);
          }
          // A user's call, allowed or not, never touches another user's keys.
          if (otherCaller) expect(await keysOf(side, otherCaller)).toBe(othersKeys);
        });
      }
    }
  });
}
