// The Fastify example as the shared suites of @byokit/example-host start it.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExampleServer } from '@byokit/example-host/testing';
import { listen } from './app.js';

export const fastifyExample: ExampleServer = {
  name: 'Fastify',
  listen,
  serverPath: join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server.js'),
};
