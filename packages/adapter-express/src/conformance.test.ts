import { createServer } from 'node:http';
import express from 'express';
import { describeAdapterConformance, HOST_ANSWER_HEADER, listenOnLoopback } from '@byokit/core/testing';
import { byokitRouter } from './index.js';

// byokit below the prefix as the README mounts it, and the host's own 404 for every path byokit passes on.
describeAdapterConformance(
  'Express',
  async ({ byokit, authenticate, prefix }) => {
    const app = express();
    app.use(prefix, byokitRouter(byokit, { authenticate: (request) => authenticate(request.headers) }));
    app.use((_request, response) => void response.status(404).set(HOST_ANSWER_HEADER, 'yes').send('host: not found'));
    return listenOnLoopback(createServer(app));
  },
  { unknownPaths: 'host' },
);
