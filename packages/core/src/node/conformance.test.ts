import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeAdapterConformance, HOST_ANSWER_HEADER } from '../testing/adapter-conformance.js';
import { createNodeHandler } from './node-handler.js';

// Core's Node handler on a plain node:http server, the host's own 404 for what byokit leaves.
describeAdapterConformance(
  'the Node handler',
  async ({ byokit, authenticate, prefix }) => {
    const byokitRoutes = createNodeHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix });
    const server = createServer(async (request, response) => {
      if (!(await byokitRoutes(request, response))) response.writeHead(404, { [HOST_ANSWER_HEADER]: 'yes' }).end('host: not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    };
  },
  { unknownPaths: 'host' },
);
