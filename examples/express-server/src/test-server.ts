// The Express example as the shared suites of @byokit/example-host start it, and as the Fastify example's
// comparison with it does (exported as @byokit/example-express-server/testing).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExampleServer } from '@byokit/example-host/testing';
import { listen } from './app.js';

export const expressExample: ExampleServer = {
  name: 'Express',
  listen,
  serverPath: join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server.js'),
};
