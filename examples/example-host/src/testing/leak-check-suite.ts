import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SYSTEM_OWNER, userOwner, type Provider } from '@byokit/core';
import { fakeProviderKey, findKeyLeaks } from '@byokit/core/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer } from './test-server.js';
import type { ExampleServer } from './example-server.js';

/**
 * spec/security.md, "Secrets never leave": fake keys in each provider's real format go through whole flows;
 * every response body and header, log line (at trace level), thrown error and non-ciphertext column is
 * searched for any 8-character piece of any of them.
 */
export function describeLeakCheck(example: ExampleServer): void {
  describe('no key leaks anywhere in the key flow', () => {
    const keys: Record<Provider, string[]> = {
      anthropic: [fakeProviderKey('anthropic'), fakeProviderKey('anthropic')],
      openai: [fakeProviderKey('openai'), fakeProviderKey('openai')],
      google: [fakeProviderKey('google'), fakeProviderKey('google')],
    };
    const environmentKey = fakeProviderKey('google');
    const allKeys = [...Object.values(keys).flat(), environmentKey];
    const captured: Array<[string, string]> = [];
    let server: Awaited<ReturnType<typeof startTestServer>>;

    async function send(method: string, path: string, token: string | null, body?: string) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${server.base}${path}`, { method, headers, body });
      const text = await response.text();
      captured.push(
        [`${method} ${path} → ${response.status} body`, text],
        [`${method} ${path} headers`, JSON.stringify([...response.headers])],
      );
      return response.status;
    }

    beforeAll(async () => {
      server = await startTestServer(example, { GOOGLE_API_KEY: environmentKey, LOG_LEVEL: 'trace' });
      const user = await server.login('canary@example.com');
      const admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);

      // Set, read, replace and delete, personal and system.
      await send(
        'PATCH',
        '/users/me/api-key',
        user,
        JSON.stringify({ anthropic_api_key: keys.anthropic[0], openai_api_key: keys.openai[0], google_api_key: keys.google[0] }),
      );
      await send('GET', '/users/me/api-key-status', user);
      await send(
        'PATCH',
        '/admin/api-key',
        admin,
        JSON.stringify({ anthropic_api_key: keys.anthropic[1], openai_api_key: keys.openai[1] }),
      );
      await send('GET', '/admin/api-key-status', admin);
      // Fail in every way a key can: wrong field, inner whitespace, control characters, as a field name,
      // wrong type, too large, not allowed.
      await send('PATCH', '/users/me/api-key', user, JSON.stringify({ openai_api_key: keys.anthropic[0] }));
      await send(
        'PATCH',
        '/users/me/api-key',
        user,
        JSON.stringify({ anthropic_api_key: `${keys.anthropic[0]!.slice(0, 50)} ${keys.anthropic[0]!.slice(50)}` }),
      );
      await send('PATCH', '/users/me/api-key', user, JSON.stringify({ google_api_key: `${keys.google[0]}\r\n` + keys.google[1] }));
      await send('PATCH', '/users/me/api-key', user, JSON.stringify({ [keys.openai[1]!]: 'x' }));
      // The example's own routes refuse an unknown field as byokit's do, without quoting a key as its name.
      await send(
        'POST',
        '/users/signup',
        null,
        JSON.stringify({ email: 'x@example.com', password: 'long enough 123', [keys.anthropic[1]!]: 1 }),
      );
      await send('PATCH', '/users/me/api-key', user, JSON.stringify({ anthropic_api_key: [keys.anthropic[1]] }));
      await send('PATCH', '/users/me/api-key', user, `{"anthropic_api_key": "${keys.anthropic[1]}"`);
      await send('PATCH', '/users/me/api-key', user, JSON.stringify({ anthropic_api_key: keys.anthropic[1]!.repeat(100) }));
      await send('PATCH', '/admin/api-key', user, JSON.stringify({ openai_api_key: keys.openai[0] }));
      await send('PATCH', '/users/me/api-key', null, JSON.stringify({ openai_api_key: keys.openai[0] }));
      // Models and chat: listed, answered plain and streamed, refused by the provider (which echoes a masked
      // key, as OpenAI does), rate limited, failing mid-stream; keys verified with the provider.
      await send('GET', '/llm-models/?is_active=true', user);
      const models = JSON.parse(captured.at(-2)![1]).data as Array<{ id: string; provider: string }>;
      const chat = (provider: string, stream: boolean) =>
        send(
          'POST',
          '/llm/chat/completions',
          user,
          JSON.stringify({
            model_id: models.find((model) => model.provider === provider)!.id,
            messages: [{ role: 'user', content: 'Hello!' }],
            stream,
          }),
        );
      for (const provider of ['anthropic', 'openai', 'google']) {
        await chat(provider, false);
        await chat(provider, true);
      }
      server.mockProviders!.failNext('openai', { status: 401 });
      await chat('openai', false);
      server.mockProviders!.failNext('anthropic', { status: 429, headers: { 'retry-after': '3' } });
      await chat('anthropic', true);
      server.mockProviders!.streamErrorNext('google');
      await chat('google', true);
      server.mockProviders!.rejectKeys.add(keys.openai[1]!);
      await send('PATCH', '/users/me/api-key?verify=true', user, JSON.stringify({ openai_api_key: keys.openai[1] }));
      await send('PATCH', '/users/me/api-key?verify=true', user, JSON.stringify({ google_api_key: keys.google[1] }));
      await send('DELETE', '/users/me/api-key?provider=openai', user);
      await send('DELETE', '/admin/api-key', admin);
      await send('DELETE', '/users/me/api-key', user);

      // Resolution in code: the resolved value, and the error when nothing is left.
      const userId = (
        JSON.parse(await (await fetch(`${server.base}/users/me`, { headers: { authorization: `Bearer ${user}` } })).text()) as {
          id: string;
        }
      ).id;
      await send('PATCH', '/users/me/api-key', user, JSON.stringify({ anthropic_api_key: keys.anthropic[0] }));
      const resolved = await server.byokit.resolveKey({ userId }, 'anthropic');
      captured.push(
        ['resolved key, inspected', inspect(resolved, { depth: 5, showHidden: true })],
        ['resolved key, JSON', JSON.stringify(resolved)],
        ['resolved key, string', `${resolved.key}`],
      );
      await send('DELETE', '/users/me/api-key', user);
      const error = await server.byokit.resolveKey({ userId }, 'openai').catch((thrown: unknown) => thrown);
      captured.push(['thrown error', `${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}\n${(error as Error).stack}`]);

      // What storage holds besides ciphertext, and the audit trail.
      for (const owner of [userOwner(userId), SYSTEM_OWNER]) {
        const rows = await server.storage.listKeys(owner);
        captured.push([`stored rows of ${owner.type}`, JSON.stringify(rows.map(({ envelope: _ciphertext, ...columns }) => columns))]);
      }
      captured.push(['audit records', JSON.stringify(await server.storage.listAudit({ limit: 1000 }))]);
      // Usage, as the user and an admin see it and as storage holds it, after every call above (ok, refused, failed).
      // Nine chats reached a provider above (six answered, three failed); records are written after the answer.
      await vi.waitFor(
        async () => {
          const { records } = await server.storage.listUsage({ limit: 1000 });
          if (records.length < 9) throw new Error(`${records.length} usage records so far`);
        },
        // As long as the suite's polls wait for such work (scripts/vitest-defaults.ts): vi.waitFor takes its own.
        { timeout: 10_000 },
      );
      await send('GET', '/llm/usage/me?group_by=key_source', user);
      await send('GET', '/llm/usage/me/events?limit=100', user);
      await send('GET', '/admin/usage?group_by=user', admin);
      await send('PUT', `/admin/users/${userId}/budget`, admin, JSON.stringify({ monthly_limit_usd: '0.000001' }));
      await chat('google', false);
      await send('GET', '/users/me/budget', user);
      captured.push(['usage records', JSON.stringify(await server.storage.listUsage({ limit: 1000 }))]);
    });
    afterAll(() => server.stop());

    it('captured the whole flow, logs at trace level included', () => {
      expect(captured.length).toBeGreaterThan(60);
      expect(captured.some(([where, text]) => where === 'usage records' && text.includes('"status":"error"'))).toBe(true);
      expect(captured.some(([where, text]) => where.includes('→ 402') && text.includes('budget_exceeded'))).toBe(true);
      expect(captured.some(([where, text]) => where.includes('/llm/chat/completions → 200') && text.includes('[DONE]'))).toBe(true);
      expect(captured.some(([where, text]) => where.includes('→ 400') && text.includes('provider_key_rejected'))).toBe(true);
      expect(server.logLines.some((line) => line.includes('"level":20'))).toBe(true);
    });

    it('finds no key, nor any 8-character piece of one, in any response, header, log line, error or column', () => {
      const logs = server.logLines.map((line, index) => [`log line ${index}`, line] as [string, string]);
      const leaks = findKeyLeaks(allKeys, [...captured, ...logs]);
      expect(leaks).toEqual([]);
    });

    it('the check itself sees a key when one is there', () => {
      expect(findKeyLeaks(allKeys, [['planted', `oops ${keys.openai[0]!.slice(30, 40)}`]])).not.toEqual([]);
    });
  });
}
