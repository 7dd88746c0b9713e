import { createServer } from 'node:http';
import { describeAdapterConformance, HOST_ANSWER_HEADER, listenOnLoopback } from '../testing/adapter-conformance.js';
import { createNodeHandler } from './node-handler.js';

// Core's Node handler on a plain node:http server, the host's own 404 for what byokit leaves.
describeAdapterConformance(
  'the Node handler',
  async ({ byokit, authenticate, prefix }) => {
    const byokitRoutes = createNodeHandler(byokit, { authenticate: (request) => authenticate(request.headers), prefix });
    return listenOnLoopback(
      createServer(async (request, response) => {
        if (!(await byokitRoutes(request, response))) response.writeHead(404, { [HOST_ANSWER_HEADER]: 'yes' }).end('host: not found');
      }),
    );
  },
  { unknownPaths: 'host' },
);
