import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createFetchHandler } from '@byokit/core';
import { fakeProviderKey } from '@byokit/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHonoExample, type HonoExample } from './app.js';

/** The guide's model id: claude-sonnet-4-5. */
const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';

let example: HonoExample;
let base: string;
let server: ReturnType<typeof serve>;
beforeAll(async () => {
  example = await createHonoExample({ mockProviders: true });
  server = serve({ fetch: example.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const patch = await fetch(`${base}/v2/users/me/api-key`, {
    method: 'PATCH',
    headers: { authorization: 'Bearer demo-user-token', 'content-type': 'application/json' },
    body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
  });
  expect(patch.status).toBe(200);
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await example.close();
});

const chatBody = (stream: boolean) =>
  JSON.stringify({ model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 1024, stream });

const chat = (stream: boolean) =>
  fetch(`${base}/v2/llm/chat/completions`, {
    method: 'POST',
    headers: { authorization: 'Bearer demo-user-token', 'content-type': 'application/json' },
    body: chatBody(stream),
  });

describe('byokit mounted in Hono with one line', () => {
  it('answers a chat request through the mock providers with the user’s key', async () => {
    const response = await chat(false);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-byok-key-source')).toBe('user');
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      provider: 'anthropic',
      model_id: GUIDE_MODEL_ID,
      choices: [{ message: { role: 'assistant', content: expect.any(String) }, finish_reason: 'stop' }],
      usage: { key_source: 'user' },
    });
  });

  it('streams the answer as server-sent events, chunk by chunk, ending with usage and [DONE]', async () => {
    example.mockProviders!.setChunkGapMs(20);
    try {
      const response = await chat(true);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = response.body!.getReader();
      const reads: string[] = [];
      for (let part = await reader.read(); !part.done; part = await reader.read()) reads.push(new TextDecoder().decode(part.value));
      // The provider paces its events, so they cannot all have come in one piece.
      expect(reads.length).toBeGreaterThan(2);
      const events = reads
        .join('')
        .split('\n\n')
        .filter((block) => block.startsWith('data: '))
        .map((block) => block.slice(6));
      expect(events.at(-1)).toBe('[DONE]');
      expect(JSON.parse(events.at(-2)!)).toMatchObject({ object: 'chat.completion.chunk', usage: { key_source: 'user' } });
    } finally {
      example.mockProviders!.setChunkGapMs(0);
    }
  });

  it('aborts the provider call when the client goes away mid-stream', async () => {
    const mock = example.mockProviders!;
    mock.reset();
    mock.setChunkGapMs(50);
    try {
      await new Promise<void>((resolve, reject) => {
        const client = httpRequest(
          `${base}/v2/llm/chat/completions`,
          { method: 'POST', headers: { authorization: 'Bearer demo-user-token', 'content-type': 'application/json' } },
          (response) =>
            response.once('data', () => {
              client.destroy();
              resolve();
            }),
        );
        client.on('error', reject);
        client.end(chatBody(true));
      });
      // The mock notes the abort once byokit's connection to it closes, after the client's: 10 s, not the mock's default 4.
      const upstream = await mock.waitForRequest((request) => request.provider === 'anthropic' && request.aborted, { timeoutMs: 10_000 });
      expect(upstream.aborted).toBe(true);
    } finally {
      mock.setChunkGapMs(0);
    }
  });

  it("keeps the last 100 of the offline mock's requests, not every one, however many chats it answers", async () => {
    for (let call = 0; call < 120; call++) expect((await chat(false)).status).toBe(200);
    const { requests } = example.mockProviders!;
    expect(requests).toHaveLength(100);
    expect(requests.at(-1)).toMatchObject({ provider: 'anthropic', aborted: false });
  });

  it("answers unknown /v2 paths with the contract's 404 and leaves the rest to the Hono app", async () => {
    const unknown = await fetch(`${base}/v2/not-a-route`, { headers: { 'x-request-id': 'req-1' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: 'No such route.', request_id: 'req-1' } });
    const anonymous = await fetch(`${base}/v2/users/me/api-key-status`);
    expect(anonymous.status).toBe(401);
    expect(await (await fetch(`${base}/`)).text()).toMatch(/byokit example on Hono/);
  });

  // RFC 9110 §11.1: the scheme's name is case-insensitive, as the Express and Fastify examples read it.
  it('takes a demo token under the scheme written in any case (bearer, BEARER)', async () => {
    for (const scheme of ['bearer', 'BEARER']) {
      const response = await fetch(`${base}/v2/users/me/api-key-status`, { headers: { authorization: `${scheme} demo-user-token` } });
      expect([scheme, response.status]).toEqual([scheme, 200]);
    }
  });

  it('refuses a bearer token named like a property every object inherits (constructor, __proto__, toString) with 401, as any unknown token', async () => {
    for (const token of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const response = await fetch(`${base}/v2/users/me/api-key-status`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status, token).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code, token).toBe('unauthenticated');
    }
  });
});

describe('the example listening on loopback only (its demo tokens are public)', () => {
  // A web page the developer opens while the example runs can point a name of its own at 127.0.0.1 (DNS rebinding) and
  // then call the server as its own origin, reading the answers, with the demo tokens: loopback alone did not stop it.
  it("refuses with 403 a request whose Host is not this machine's loopback name, and answers localhost, 127.0.0.1 and [::1]", async () => {
    const loopback = await createHonoExample({ loopbackOnly: true });
    try {
      const status = (host: string) =>
        loopback.app.request(`http://${host}/v2/users/me/api-key-status`, {
          headers: { authorization: 'Bearer demo-user-token', 'x-request-id': 'req-host' },
        });
      for (const host of ['rebound.attacker.example:8000', 'rebound.attacker.example', '127.0.0.1.attacker.example:8000']) {
        const refused = await status(host);
        expect(refused.status, host).toBe(403);
        expect(await refused.json(), host).toEqual({
          error: { code: 'forbidden', message: expect.stringMatching(/^This server answers only/), request_id: 'req-host' },
        });
        expect(refused.headers.get('x-request-id')).toBe('req-host');
      }
      for (const host of ['localhost:8000', '127.0.0.1:8000', '[::1]:8000', 'LOCALHOST'])
        expect((await status(host)).status, host).toBe(200);
    } finally {
      await loopback.close();
    }
  });
});

describe('a Hono host that keeps routes of its own below /v2', () => {
  it('mounts byokit with fallThrough and answers its own routes after it (the README snippet)', async () => {
    const byokitFetch = createFetchHandler(example.byokit, { authenticate: () => null, fallThrough: true });
    const app = new Hono();
    app.all('/v2/*', async (c, next) => (await byokitFetch(c.req.raw)) ?? next());
    app.get('/v2/host-route', (c) => c.json({ host: true }));
    expect(await (await app.request('/v2/host-route')).json()).toEqual({ host: true });
    expect((await app.request('/v2/users/me/api-key-status')).status).toBe(401);
    expect((await app.request('/v2/not-a-route')).status).toBe(404);
  });
});
