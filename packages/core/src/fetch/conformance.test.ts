import { describeAdapterConformance, HOST_ANSWER_HEADER } from '../testing/adapter-conformance.js';
import { createFetchHandler } from './fetch-handler.js';
import { serveFetchOverNode } from './test-helpers.js';

// The fetch handler served over node:http by a small bridge (as @hono/node-server does), in both of its modes.
describeAdapterConformance(
  'the fetch handler',
  async ({ byokit, authenticate, prefix }) =>
    serveFetchOverNode(createFetchHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix })),
  { unknownPaths: 'contract-404', urls: 'parsed' },
);

describeAdapterConformance(
  'the fetch handler, falling through to the host',
  async ({ byokit, authenticate, prefix }) =>
    serveFetchOverNode(
      createFetchHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix, fallThrough: true }),
      (response) => void response.writeHead(404, { [HOST_ANSWER_HEADER]: 'yes' }).end('host: not found'),
    ),
  { unknownPaths: 'host', urls: 'parsed' },
);
