import pino from 'pino';
import { createExampleApp } from './app.js';
import { configFromEnvironment } from './config.js';

const config = configFromEnvironment();
const logger = pino({ level: config.logLevel });

try {
  const { app, close } = await createExampleApp(config, logger);
  const server = app.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info({ port }, `byokit example server listening on http://localhost:${port}/v2`);
  });
  // A slow or stalled request body is cut off rather than holding a socket (spec/security.md, hostile inputs).
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  const stop = () => server.close(() => void close().then(() => process.exit(0)));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  // Start-up refusals (a bad keyring, say) carry a message that says what to fix: show it, not a stack.
  logger.fatal({ code: (error as { code?: string }).code }, error instanceof Error ? error.message : String(error));
  process.exit(1);
}
