import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { createFetchHandler } from '@byokit/core';
import { describeAdapterConformance, HOST_ANSWER_HEADER, listenOnLoopback } from '@byokit/core/testing';

// byokit in a real Hono app on @hono/node-server, mounted as the README shows for a host with routes of its own
// below the prefix (createFetchHandler with fallThrough), and Hono's not-found handler answering the rest.
describeAdapterConformance(
  'Hono on @hono/node-server',
  async ({ byokit, authenticate, prefix }) => {
    const byokitFetch = createFetchHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix, fallThrough: true });
    const app = new Hono();
    app.all(`${prefix}/*`, async (c, next) => (await byokitFetch(c.req.raw)) ?? next());
    app.notFound((c) => c.text('host: not found', 404, { [HOST_ANSWER_HEADER]: 'yes' }));
    // The server serve() would start (HTTP/1 by default), started by the suite's own helper.
    return listenOnLoopback(createAdaptorServer({ fetch: app.fetch }) as Server);
  },
  // @hono/node-server refuses a backslash in the path before Hono runs (400, no body).
  { unknownPaths: 'host', urls: 'parsed', refusedByServer: (path) => path.includes('\\') },
);
