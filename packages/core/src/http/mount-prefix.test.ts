import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../fetch/fetch-handler.js';
import { createNodeHandler } from '../node/node-handler.js';
import { testByokit } from './test-helpers.js';

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
});
