import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '@byokit/core/testing';
import { startTestServer } from './test-server.js';
import type { ExampleServer } from './example-server.js';

/**
 * Streaming through the whole stack: the example's framework and byokit adapter, byokit, the provider client, the (mock) provider.
 */
export function describeStreaming(example: ExampleServer): void {
  describe('streamed chat through the example server', () => {
    let server: Awaited<ReturnType<typeof startTestServer>>;
    let token = '';
    const body = JSON.stringify({
      model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82',
      messages: [{ role: 'user', content: 'Hello!' }],
      stream: true,
    });

    beforeAll(async () => {
      server = await startTestServer(example);
      token = await server.login('stream@example.com');
      await fetch(`${server.base}/users/me/api-key`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ anthropic_api_key: fakeProviderKey('anthropic') }),
      });
    });
    afterAll(() => server.stop());

    it('sends each chunk as it comes: the first arrives while the provider is still sending', async () => {
      server.mockProviders!.reset();
      server.mockProviders!.setChunkGapMs(100);
      const response = await fetch(`${server.base}/llm/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = response.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      let rest = '';
      for (let part = await reader.read(); !part.done; part = await reader.read()) rest += new TextDecoder().decode(part.value);
      server.mockProviders!.setChunkGapMs(0);
      // 11 recorded events, 100 ms apart: held back on the way, the first read would bring the whole answer, [DONE]
      // and all. Read by what came, not by when (a loaded machine makes any time late): the first read is the first
      // chunk alone, the rest came after it.
      expect(first).toMatch(/^data: \{"id":"chatcmpl-/);
      expect(first).not.toContain('[DONE]');
      expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
    });

    it('aborts the upstream request when the client disconnects mid-stream', async () => {
      server.mockProviders!.reset();
      server.mockProviders!.setChunkGapMs(100);
      const url = new URL(`${server.base}/llm/chat/completions`);
      await new Promise<void>((resolve) => {
        const client = httpRequest(
          url,
          { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
          (response) => {
            response.once('data', () => {
              client.destroy();
              resolve();
            });
          },
        );
        client.on('error', () => {});
        client.end(body);
      });
      // The mock notes the abort once byokit's connection to it closes, after the client's.
      const upstream = await server.mockProviders!.waitForRequest((request) => request.provider === 'anthropic' && request.aborted, {
        timeoutMs: 10_000,
      });
      server.mockProviders!.setChunkGapMs(0);
      expect(upstream.aborted).toBe(true);
    });
  });
}
