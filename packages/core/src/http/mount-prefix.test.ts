import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../fetch/fetch-handler.js';
import { createNodeHandler } from '../node/node-handler.js';
import { listenOnLoopback } from '../testing/adapter-conformance/listen.js';
import { alice, testByokit } from './test-helpers.js';

const authenticate = () => null;

describe('a mount prefix', () => {
  it.each(['v2', 'api/v2', '/v2?x=1', '/v2#top', '/v 2'])(
    '%j is refused where the handler is made, not matched by no request',
    async (prefix) => {
      const message = `prefix must be '' or a path from '/' without '?', '#' or spaces, got ${JSON.stringify(prefix)}`;
      const { byokit } = await testByokit();
      expect(() => createNodeHandler(byokit, { authenticate, prefix })).toThrow(new TypeError(message));
      expect(() => createFetchHandler(byokit, { authenticate, prefix })).toThrow(new TypeError(message));
      await expect(testByokit({ fetchHandler: { authenticate, prefix } })).rejects.toThrow(new TypeError(message));
      await expect(testByokit({ openApi: { prefix } })).rejects.toThrow(new TypeError(message));
    },
  );

  it.each(['', '/', '/v2', '/v2/', '/api/llm'])('%j is taken', async (prefix) => {
    const { byokit } = await testByokit({ fetchHandler: { authenticate, prefix }, openApi: { prefix } });
    expect(() => createNodeHandler(byokit, { authenticate, prefix })).not.toThrow();
  });

  it('of characters a client sends escaped (`/café/v2`, sent as `/caf%C3%A9/v2`) is matched as sent, as Fastify and Hono match it', async () => {
    const { byokit } = await testByokit();
    const options = { authenticate: () => alice, prefix: '/café/v2' };
    const fetchHandler = createFetchHandler(byokit, options);
    const nodeHandler = createNodeHandler(byokit, options);
    const server = await listenOnLoopback(
      createServer(async (request, response) => {
        if (!(await nodeHandler(request, response))) response.writeHead(404).end('host: not found');
      }),
    );
    try {
      const path = '/café/v2/users/me/api-key-status';
      const answers = [(await fetchHandler(new Request(`http://host${path}`))).status, (await fetch(`${server.baseUrl}${path}`)).status];
      expect(answers).toEqual([200, 200]);
      // A lone surrogate has no spelling on the wire.
      expect(() => createNodeHandler(byokit, { ...options, prefix: '/\ud800' })).toThrow(
        new TypeError('prefix must be well-formed Unicode, got "/\\ud800"'),
      );
    } finally {
      await server.close();
    }
  });
});
