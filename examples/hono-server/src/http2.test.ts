import { createServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { createFetchHandler } from '@byokit/core';
import { describeHttp2Conformance } from '@byokit/core/testing';

// The fetch handler in a Hono app on @hono/node-server's HTTP/2 server (`createServer: http2.createServer`, h2c).
describeHttp2Conformance('Hono on @hono/node-server (http2.createServer)', async ({ byokit, authenticate, prefix }) => {
  const byokitFetch = createFetchHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix, fallThrough: true });
  const app = new Hono();
  app.all(`${prefix}/*`, async (c, next) => (await byokitFetch(c.req.raw)) ?? next());
  app.notFound((c) => c.text('host: not found', 404));
  const server = createAdaptorServer({ fetch: app.fetch, createServer });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
});
