import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createFetchHandler } from '@byokit/core';
import { describeAdapterConformance, HOST_ANSWER_HEADER } from '@byokit/core/testing';

// byokit in a real Hono app on @hono/node-server, mounted as the README shows for a host with routes of its own
// below the prefix (createFetchHandler with fallThrough), and Hono's not-found handler answering the rest.
describeAdapterConformance(
  'Hono on @hono/node-server',
  async ({ byokit, authenticate, prefix }) => {
    const byokitFetch = createFetchHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix, fallThrough: true });
    const app = new Hono();
    app.all(`${prefix}/*`, async (c, next) => (await byokitFetch(c.req.raw)) ?? next());
    app.notFound((c) => c.text('host: not found', 404, { [HOST_ANSWER_HEADER]: 'yes' }));
    // An HTTP/1 server, as serve() makes by default.
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await new Promise((resolve) => server.once('listening', resolve));
    return {
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
  // @hono/node-server refuses a backslash in the path before Hono runs (400, no body).
  { unknownPaths: 'host', urls: 'parsed', refusedByServer: (path) => path.includes('\\') },
);
