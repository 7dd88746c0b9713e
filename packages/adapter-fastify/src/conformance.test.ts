import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { describeAdapterConformance, HOST_ANSWER_HEADER } from '@byokit/core/testing';
import { MAX_BODY_BYTES } from '@byokit/core';
import { byokitPlugin } from './index.js';

// byokit registered as the README shows, the host's own 404 for every path byokit passes on, and Fastify's log at
// its most verbose level, searched by the leak check.
describeAdapterConformance(
  'Fastify',
  async ({ byokit, authenticate, prefix }) => {
    const logLines: string[] = [];
    const stream = new Writable({ write: (chunk, _encoding, done) => (logLines.push(String(chunk)), done()) });
    const app = Fastify({ logger: { level: 'trace', stream } });
    app.setNotFoundHandler((_request, reply) => reply.code(404).header(HOST_ANSWER_HEADER, 'yes').send('host: not found'));
    await app.register(byokitPlugin, {
      byokit,
      authenticate: (request) => authenticate(request.headers),
      prefix,
      // byokit's largest route limit, so every chat body Express takes is taken here too.
      bodyLimit: MAX_BODY_BYTES,
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return {
      baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
      close: () => app.close(),
      logLines: () => logLines,
    };
  },
  {
    unknownPaths: 'host',
    // Fastify's router refuses a path that is not valid percent-encoding before any plugin (FST_ERR_BAD_URL).
    refusedByServer: (path) => {
      try {
        decodeURIComponent(path);
        return false;
      } catch {
        return true;
      }
    },
  },
);
