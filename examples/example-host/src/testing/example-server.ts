import type { Logger } from 'pino';
import type { ServerConfig } from '../config.js';
import type { ExampleHost } from '../example-host.js';
import type { ListeningServer } from '../run-server.js';

/** One example server (Express, Fastify…), as the shared suites start it. */
export interface ExampleServer {
  /** Its framework's name, e.g. `Express`. */
  name: string;
  /** Starts the app with this configuration, listening on `config.port` (0 in tests: a free one). */
  listen(config: ServerConfig, logger: Logger): Promise<ListeningServer & Omit<ExampleHost, 'close'>>;
  /** The built entry point that `npm start` runs (`dist/server.js`), for the start-up tests. */
  serverPath: string;
}
