import type { AddressInfo } from 'node:net';
import express from 'express';
import { describeAdapterConformance, HOST_ANSWER_HEADER } from '@byokit/core/testing';
import { byokitRouter } from './index.js';

// byokit below the prefix as the README mounts it, and the host's own 404 for every path byokit passes on.
describeAdapterConformance(
  'Express',
  async ({ byokit, authenticate, prefix }) => {
    const app = express();
    app.use(prefix, byokitRouter(byokit, { authenticate: (request) => authenticate(request.headers) }));
    app.use((_request, response) => void response.status(404).set(HOST_ANSWER_HEADER, 'yes').send('host: not found'));
    const server = app.listen(0, '127.0.0.1');
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
  { unknownPaths: 'host' },
);
