import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createByokit } from './byokit.js';
import { alice, testKeyring } from './http/test-helpers.js';
import { fakeProviderKey } from './keys/fake-keys.js';
import { memoryStorage } from './storage/memory-storage.js';

// A host's graceful shutdown ends once its server and byokit are closed: nothing of byokit's may keep the process
// alive after `close()`. The provider runs in a process of its own, so that every handle left here is byokit's.
// (undici unrefs a connection while it is idle: one kept alive for the next call keeps no process alive.)

// Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
const MODEL_ID = 'f8249082-e6ae-5964-b84f-719fa94f6a67';
const REQUEST = { model_id: MODEL_ID, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 20 };

/**
 * Anthropic's Messages API, answering every call in full (plain or streamed), on a port it prints; a GET says how
 * many connections to it are open.
 */
const PROVIDER = `
const START = 'event: message_start\\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-5-5","content":[],"stop_reason":null,"usage":{"input_tokens":5,"output_tokens":1}}}\\n\\n';
const TEXT = 'event: content_block_delta\\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\\n\\n';
const END = 'event: message_delta\\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":3}}\\n\\nevent: message_stop\\ndata: {"type":"message_stop"}\\n\\n';
const MESSAGE = JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-5-5',
  content: [{ type: 'text', text: 'Hi' }], stop_reason: 'end_turn', usage: { input_tokens: 5, output_tokens: 3 } });
const connections = new Set();
const server = require('node:http').createServer(async (request, response) => {
  // The connections open now, but the one asking.
  if (request.method === 'GET') return response.writeHead(200, { connection: 'close' }).end(String(connections.size - 1));
  let body = '';
  for await (const chunk of request) body += chunk;
  if (JSON.parse(body).stream) response.writeHead(200, { 'content-type': 'text/event-stream' }).end(START + TEXT + TEXT + END);
  else response.writeHead(200, { 'content-type': 'application/json' }).end(MESSAGE);
});
server.on('connection', (socket) => {
  connections.add(socket);
  socket.on('close', () => connections.delete(socket));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

let provider: ChildProcess;
let baseUrl = '';
beforeAll(async () => {
  provider = spawn(process.execPath, ['-e', PROVIDER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [port] = (await once(provider.stdout!, 'data')) as [Buffer];
  baseUrl = `http://127.0.0.1:${String(port).trim()}`;
});
afterAll(() => {
  provider.kill();
});

/**
 * What keeps this process alive now but timers, by kind (sockets, servers, the provider's process and pipes), and
 * how many timers: the test runner's own come and go, so timers may be fewer afterwards, never more.
 */
const handles = () => {
  const resources = process.getActiveResourcesInfo();
  return {
    others: resources.filter((kind) => kind !== 'Timeout' && kind !== 'Immediate').sort(),
    timers: resources.filter((kind) => kind === 'Timeout').length,
  };
};

/** How many connections to the provider are open, asked on one of its own, closed before this resolves. */
const openConnections = () =>
  new Promise<number>((resolve, reject) => {
    let text = '';
    const asking = get(baseUrl, { agent: false }, (response) =>
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)),
    );
    asking.on('error', reject).on('socket', (socket) => socket.on('close', () => resolve(Number(text))));
  });

describe('before byokit.close()', () => {
  it('its provider connections kept alive for the next call, idle, keep no process alive: a host that never closes it still exits', async () => {
    // docs/architecture.md, "What a process that runs for weeks keeps": a Pool's idle connections keep no process alive.
    const before = handles();
    const byokit = await createByokit({
      storage: memoryStorage(),
      keyring: testKeyring(),
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl } },
    });
    await Promise.all(Array.from({ length: 3 }, () => byokit.chat(alice, REQUEST)));
    for await (const _chunk of byokit.chatStream(alice, REQUEST));

    expect(await openConnections()).toBeGreaterThan(0);
    const meanwhile = handles();
    expect(meanwhile.others).toEqual(before.others);
    expect(meanwhile.timers).toBeLessThanOrEqual(before.timers);
    await byokit.close();
  });
});

describe('after byokit.close()', () => {
  it("nothing of byokit's keeps the process alive, and no connection to the provider is left, after chats, streams, a stream left, a budget and a rate limit", async () => {
    const before = handles();
    const storage = memoryStorage();
    const byokit = await createByokit({
      storage,
      keyring: testKeyring(),
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl } },
      rateLimit: { requestsPerMinute: 600 },
    });
    await storage.setBudget(alice.userId, { monthlyLimitUsd: '10', appliesTo: 'all', updatedAt: new Date() });

    await Promise.all(Array.from({ length: 5 }, () => byokit.chat(alice, REQUEST)));
    for await (const _chunk of byokit.chatStream(alice, REQUEST));
    for await (const _chunk of byokit.chatStream(alice, REQUEST)) break;
    await byokit.resolveKey(alice, 'anthropic');

    expect(await openConnections()).toBeGreaterThan(0);

    await byokit.close();

    const after = handles();
    expect(after.others).toEqual(before.others);
    expect(after.timers).toBeLessThanOrEqual(before.timers);
    // Closed on byokit's side: the provider hears of it on its next turn.
    await expect.poll(openConnections).toBe(0);
    expect((await storage.listUsage({ userId: alice.userId, limit: 10 })).records).toHaveLength(7);
  });
});
