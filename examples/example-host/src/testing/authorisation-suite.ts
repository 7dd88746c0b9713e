import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_OWNER, userOwner } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer } from './test-server.js';
import type { ExampleServer } from './example-server.js';

/**
 * spec/security.md, "Who may do what": every key route × {anonymous, user A, user B, admin} over real
 * HTTP with real tokens, and storage checked unchanged after every refusal.
 */
export function describeAuthorisationMatrix(example: ExampleServer): void {
  describe('authorisation matrix through the example server', () => {
    let server: Awaited<ReturnType<typeof startTestServer>>;
    const tokens: Record<string, string | null> = { anonymous: null };
    const ids: Record<string, string> = {};

    const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
    /** The user whose budget the matrix tries to set. */
    const BUDGET_TARGET = 'budget-target-user';

    async function snapshot() {
      const owners = [userOwner(ids['user A']!), userOwner(ids['user B']!), userOwner(ids.admin!), SYSTEM_OWNER];
      const lists = await Promise.all(owners.map((owner) => server.storage.listKeys(owner)));
      return JSON.stringify([
        lists.map((l) => l.map((k) => ({ ...k, envelope: [...k.envelope] }))),
        await server.storage.listAudit({ limit: 10_000 }),
        await server.storage.getBudget(BUDGET_TARGET),
      ]);
    }

    beforeAll(async () => {
      server = await startTestServer(example);
      tokens['user A'] = await server.login('a@example.com');
      tokens['user B'] = await server.login('b@example.com');
      tokens.admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
      for (const name of ['user A', 'user B', 'admin']) {
        const me = await fetch(`${server.base}/users/me`, { headers: { authorization: `Bearer ${tokens[name]}` } });
        ids[name] = ((await me.json()) as { id: string }).id;
        await fetch(`${server.base}/users/me/api-key`, {
          method: 'PATCH',
          headers: { authorization: `Bearer ${tokens[name]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ google_api_key: fakeProviderKey('google') }),
        });
      }
      await fetch(`${server.base}/admin/api-key`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: JSON.stringify({ google_api_key: fakeProviderKey('google') }),
      });
    });
    afterAll(() => server.stop());

    const personal = { anonymous: 401, 'user A': 200, 'user B': 200, admin: 200 };
    const adminOnly = { anonymous: 401, 'user A': 403, 'user B': 403, admin: 200 };
    const matrix: Array<[string, string, Record<string, number>]> = [
      ['GET', '/users/me/api-key-status', personal],
      ['PATCH', '/users/me/api-key', personal],
      ['DELETE', '/users/me/api-key?provider=openai', personal],
      ['GET', '/admin/api-key-status', adminOnly],
      ['PATCH', '/admin/api-key', adminOnly],
      ['DELETE', '/admin/api-key?provider=anthropic', adminOnly],
      ['GET', '/llm-models/?is_active=true', personal],
      ['GET', '/llm-models/?all=true', adminOnly],
      ['GET', `/llm-models/${GUIDE_MODEL_ID}`, personal],
      ['POST', '/llm-models/', { anonymous: 401, 'user A': 403, 'user B': 403, admin: 201 }],
      ['PATCH', `/llm-models/${GUIDE_MODEL_ID}`, adminOnly],
      ['POST', '/llm/chat/completions', personal],
      ['GET', '/llm/usage/me?group_by=model', personal],
      ['GET', '/llm/usage/me/events?limit=5', personal],
      ['GET', '/admin/usage?group_by=user', adminOnly],
      ['GET', '/users/me/budget', personal],
      ['PUT', `/admin/users/${BUDGET_TARGET}/budget`, adminOnly],
    ];

    let created = 0;
    function bodyFor(method: string, path: string): string | undefined {
      if (method === 'GET' || method === 'DELETE') return undefined;
      if (path.endsWith('/budget')) return JSON.stringify({ monthly_limit_usd: '5' });
      if (path.startsWith('/llm/chat'))
        return JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }] });
      if (path === '/llm-models/') {
        return JSON.stringify({
          provider: 'openai',
          model: `matrix-model-${++created}`,
          display_name: 'Matrix',
          context_window: 1000,
          max_output_tokens: 100,
          pricing: null,
        });
      }
      if (path.startsWith('/llm-models/')) return JSON.stringify({ display_name: 'Renamed by the matrix' });
      return JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') });
    }

    for (const [method, path, expected] of matrix) {
      for (const [caller, status] of Object.entries(expected)) {
        it(`${method} ${path} as ${caller} → ${status}`, async () => {
          const before = await snapshot();
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (tokens[caller]) headers.authorization = `Bearer ${tokens[caller]}`;
          // A body that would change something if the call were wrongly allowed.
          const response = await fetch(`${server.base}${path}`, { method, headers, body: bodyFor(method, path) });
          expect(response.status).toBe(status);
          if (status >= 400) {
            expect((await response.json()).error.code).toBe(status === 401 ? 'unauthenticated' : 'forbidden');
            expect(await snapshot()).toBe(before);
          } else if (path === '/llm/chat/completions') {
            // The provider's answer marks the caller's key as checked, written just after the answer and never waited
            // for: waited for here, so that the next test's snapshots do not see it land between them.
            const verdict = async () =>
              (await server.storage.listKeys(userOwner(ids[caller]!))).find((key) => key.provider === 'anthropic')?.verification;
            await expect.poll(verdict).toBe('valid');
          }
        });
      }
    }

    it("shows each user only their own usage: A's records and totals never include B's calls", async () => {
      const chat = (caller: string) =>
        fetch(`${server.base}/llm/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens[caller]}`, 'content-type': 'application/json' },
          body: bodyFor('POST', '/llm/chat/completions'),
        });
      const usageOf = async (caller: string) => {
        const headers = { authorization: `Bearer ${tokens[caller]}` };
        const summary = (await (await fetch(`${server.base}/llm/usage/me`, { headers })).json()) as { totals: { requests: number } };
        const events = (await (await fetch(`${server.base}/llm/usage/me/events?limit=100`, { headers })).json()) as {
          data: Array<{ request_id: string }>;
        };
        return { requests: summary.totals.requests, requestIds: events.data.map((event) => event.request_id) };
      };
      const before = { a: await usageOf('user A'), b: await usageOf('user B') };
      const bobsCall = await chat('user B');
      expect(bobsCall.status).toBe(200);
      const bobsRequestId = bobsCall.headers.get('x-request-id')!;
      await expect.poll(async () => (await usageOf('user B')).requests).toBe(before.b.requests + 1);
      const after = await usageOf('user A');
      expect(after).toEqual(before.a);
      expect(after.requestIds).not.toContain(bobsRequestId);
      expect((await usageOf('user B')).requestIds).toContain(bobsRequestId);
    });

    it("user B's writes never touch user A's keys", async () => {
      const before = JSON.stringify(await server.storage.listKeys(userOwner(ids['user A']!)));
      await fetch(`${server.base}/users/me/api-key`, { method: 'DELETE', headers: { authorization: `Bearer ${tokens['user B']}` } });
      expect(JSON.stringify(await server.storage.listKeys(userOwner(ids['user A']!)))).toBe(before);
    });
  });
}
