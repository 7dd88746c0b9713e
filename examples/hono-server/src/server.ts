import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { scrubSecrets } from '@byokit/core';
import { createHonoExample, DEMO_TOKENS } from './app.js';

/** pino's levels, which `LOG_LEVEL` names (pino itself throws an unreadable error for any other). */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * A bad variable or keyring is refused as the Express and Fastify examples refuse it: one fatal line saying what
 * to fix, exit code 1. Thrown at the top level instead, each was a Node stack trace. A value quoted is scrubbed of keys:
 * a .env whose two lines ran together gives a variable the next one's line (`PORT=8000OPENAI_API_KEY=sk-…`).
 */
function refuse(message: string): never {
  pino().fatal(message);
  process.exit(1);
}

const level = process.env.LOG_LEVEL || 'info';
if (!LOG_LEVELS.includes(level)) refuse(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, not '${scrubSecrets(level)}'.`);
// Digits only: Number() would also take '8e3' or '0x1F40', and listen() throws its own RangeError for 'abc'.
const portText = process.env.PORT || '8000';
const port = Number(portText);
if (!/^\d+$/.test(portText) || port > 65535)
  refuse(`PORT must be a port number from 0 to 65535, not '${scrubSecrets(String(process.env.PORT))}'.`);

// One pino logger for the example and byokit, at LOG_LEVEL, as the Express and Fastify examples log: byokit's
// warnings (a placeholder in OPENAI_API_KEY, say) would otherwise be dropped without a word.
const logger = pino({ level });
const mockProviders = process.env.BYOKIT_MOCK_PROVIDERS === '1' || process.env.BYOKIT_MOCK_PROVIDERS === 'true';
if (!process.env.BYOKIT_KEYRING)
  logger.warn('BYOKIT_KEYRING is not set: using a throwaway keyring (memory storage forgets every key on exit anyway).');
if (mockProviders)
  logger.warn('BYOKIT_MOCK_PROVIDERS is on: chat answers come from the mock providers (recorded responses), not the real APIs.');
// The loopback interface only, unless HOST says otherwise: the demo tokens are public (this README, the line below),
// and one is an admin's. On every interface, as before, anyone who could reach the port chatted on the system key.
const hostname = process.env.HOST || '127.0.0.1';
const { app, close } = await createHonoExample({
  keyring: process.env.BYOKIT_KEYRING,
  mockProviders,
  environment: process.env,
  logger,
  // Nor, on loopback, a web page opened in a browser here that points a name of its own at 127.0.0.1 (DNS rebinding).
  loopbackOnly: ['127.0.0.1', 'localhost', '::1'].includes(hostname),
}).catch((error: unknown) => {
  // A start-up refusal (a bad BYOKIT_KEYRING, say) is a ByokitError whose message says what to fix.
  logger.fatal({ code: (error as { code?: string }).code }, error instanceof Error ? error.message : String(error));
  process.exit(1);
});

const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) => {
  logger.info(
    { address: info.address, port: info.port },
    `byokit example server on Hono listening on http://localhost:${info.port}/v2 (${info.address}${hostname === '127.0.0.1' ? ': this machine only; HOST sets the interface' : ''})`,
  );
  logger.info({ tokens: Object.keys(DEMO_TOKENS) }, `demo bearer tokens: ${Object.keys(DEMO_TOKENS).join(', ')}`);
});
// A port already taken: said in one line, as the Express and Fastify examples say it, not an unhandled 'error' event.
server.once('error', (error: Error) => {
  logger.fatal({ code: (error as { code?: string }).code }, error.message);
  void close().then(() => process.exit(1));
});
const stop = () => server.close(() => void close().then(() => process.exit(0)));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
