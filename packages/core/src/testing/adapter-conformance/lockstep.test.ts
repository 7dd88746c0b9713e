import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { startMockProviders, type MockProviders } from '../mock-providers.js';
import { sendOverHttp, type Exchange } from './exchange.js';
import { lockstep } from './lockstep.js';

// An adapter stand-in between the client and the mock's OpenAI stream: one passes each piece on as it comes,
// the other holds the whole stream back and writes it at the end.
async function startRelay(mock: MockProviders, holdBack: boolean): Promise<{ baseUrl: string; server: Server }> {
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const response = await fetch(`${mock.baseUrls.openai}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fakeProviderKey('openai')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }], stream: true }),
      });
      outgoing.writeHead(200, { 'content-type': 'text/event-stream' });
      const held: Uint8Array[] = [];
      for await (const piece of response.body!) {
        if (holdBack) held.push(piece);
        else outgoing.write(piece);
      }
      outgoing.end(Buffer.concat(held));
    })();
    incoming.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const exchange: Exchange = { method: 'GET', url: '/', as: 'user', requestId: 'lockstep' };

describe('pacing a stream by the client reads', () => {
  let mock: MockProviders;
  let textEvents: number;
  beforeAll(async () => {
    mock = await startMockProviders();
    const whole = await (
      await fetch(`${mock.baseUrls.openai}/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${fakeProviderKey('openai')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }], stream: true }),
      })
    ).text();
    textEvents = whole.split('\n\n').filter((event) => event.includes('"content":"')).length;
  });
  afterAll(() => mock.close());

  it('gives a client behind a relay that passes pieces on a read for every text event', async () => {
    const relay = await startRelay(mock, false);
    try {
      const pacing = lockstep();
      mock.setStreamPacer(pacing.pacer);
      const answer = await sendOverHttp(relay.baseUrl, exchange, pacing.onRead);
      expect(textEvents).toBeGreaterThan(100);
      expect(answer.pieces.length).toBeGreaterThanOrEqual(textEvents);
    } finally {
      relay.server.close();
    }
  });

  it('leaves a relay that holds the stream back with the client reading it at once, after giving up on the first wait', async () => {
    const relay = await startRelay(mock, true);
    try {
      const pacing = lockstep({ giveUpMs: 50 });
      mock.setStreamPacer(pacing.pacer);
      const answer = await sendOverHttp(relay.baseUrl, exchange, pacing.onRead);
      expect(answer.pieces.join('')).toMatch(/data: \[DONE\]\n\n$/);
      expect(answer.pieces.length).toBeLessThan(5);
    } finally {
      relay.server.close();
    }
  });
});
