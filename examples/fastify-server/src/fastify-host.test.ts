import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '@byokit/core/testing';
import { startTestServer } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

// What only the Fastify example has to show: Fastify's own logging and limits, answered in the contract's shape.
describe('the Fastify example as a Fastify host', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let token = '';
  beforeAll(async () => {
    server = await startTestServer(fastifyExample);
    token = await server.login('fastify@example.com');
  });
  afterAll(() => server.stop());

  it("logs every request through Fastify's logger, under the caller's x-request-id", async () => {
    await fetch(`${server.base}/users/me/api-key-status`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'trace-me-1' } });
    await expect
      .poll(() => server.logLines.find((line) => line.includes('"reqId":"trace-me-1"') && line.includes('request completed')))
      .toContain('"statusCode":200');
  });

  // One id to join Fastify's request lines, byokit's own lines and the answer by, also when the caller sent none.
  it("logs a byokit route's request under the id its answer carries, when the caller sent no x-request-id", async () => {
    const answer = await fetch(`${server.base}/users/me/api-key-status`, { headers: { authorization: 'Bearer not-a-token' } });
    expect(answer.status).toBe(401);
    const id = answer.headers.get('x-request-id')!;
    expect(((await answer.json()) as { error: { request_id: string } }).error.request_id).toBe(id);
    await expect
      .poll(() => server.logLines.find((line) => line.includes(`"reqId":"${id}"`) && line.includes('request completed')))
      .toContain('"statusCode":401');
    expect(server.logLines.find((line) => line.includes(`"requestId":"${id}"`) && line.includes('"msg":"request"'))).toContain(
      '"status":401',
    );
  });

  // Fastify's request line logged the URL as sent, query and all: a password, an access token or a provider key put in
  // a query string (a client's mistake, or a `?access_token=` some clients send) was written to the log at info.
  it("logs a request's path as byokit's own request line does: without its query string, a key in it redacted", async () => {
    const key = fakeProviderKey('anthropic');
    const secrets = ['password-in-the-query', token, key];
    const sent = [
      await fetch(`${server.base}/login/access-token?username=fastify%40example.com&password=${secrets[0]}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'query-1' },
        body: 'username=fastify%40example.com&password=wrong-password',
      }),
      await fetch(`${server.base}/users/me?access_token=${token}`, { headers: { 'x-request-id': 'query-2' } }),
      await fetch(`${server.base}/users/me/api-key-status?anthropic_api_key=${key}`, {
        headers: { authorization: `Bearer ${token}`, 'x-request-id': 'query-3' },
      }),
      await fetch(`${server.base}/llm-models/${key}`, { headers: { authorization: `Bearer ${token}`, 'x-request-id': 'query-4' } }),
    ];
    expect(sent.map((response) => response.status)).toEqual([400, 401, 200, 422]);
    for (const id of ['query-1', 'query-2', 'query-3', 'query-4']) {
      await expect
        .poll(() => server.logLines.some((line) => line.includes(`"reqId":"${id}"`) && line.includes('request completed')))
        .toBe(true);
    }
    const incoming = (id: string) =>
      JSON.parse(server.logLines.find((line) => line.includes(`"reqId":"${id}"`) && line.includes('incoming request'))!);
    expect(incoming('query-1').req).toMatchObject({ method: 'POST', url: '/v2/login/access-token' });
    expect(incoming('query-3').req.url).toBe('/v2/users/me/api-key-status');
    expect(incoming('query-4').req.url).toBe('/v2/llm-models/[redacted]');
    for (const secret of secrets) expect(server.logLines.filter((line) => line.includes(secret.slice(-12)))).toEqual([]);
  });

  it('accepts a chat body over Fastify’s 1 MiB default, up to byokit’s own 2 MiB chat limit, as Express does', async () => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    await fetch(`${server.base}/users/me/api-key`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
    });
    const chat = (size: number) =>
      fetch(`${server.base}/llm/chat/completions`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
          max_tokens: 64,
          messages: [{ role: 'user', content: 'x'.repeat(size) }],
        }),
      });
    const large = await chat(1_500_000);
    // Past Fastify's default limit, byokit read the body and judged it by its own rules (a message that long is a 422).
    expect(large.status).toBe(422);
    expect((await large.json()).error.code).toBe('validation_failed');
    const tooLarge = await chat(2_200_000);
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error.code).toBe('payload_too_large');
  });

  it("answers a path that is not valid percent-encoding with the contract's 404, not Fastify's own body", async () => {
    const response = await fetch(`${server.base}/llm-models/%zz`, { headers: { 'x-request-id': 'bad-url' } });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'No such route.', request_id: 'bad-url' } });
  });
});
