import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { createHonoExample, DEMO_TOKENS } from './app.js';

// One pino logger for the example and byokit, at LOG_LEVEL, as the Express and Fastify examples log: byokit's
// warnings (a placeholder in OPENAI_API_KEY, say) would otherwise be dropped without a word.
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const port = Number(process.env.PORT ?? 8000);
const mockProviders = process.env.BYOKIT_MOCK_PROVIDERS === '1' || process.env.BYOKIT_MOCK_PROVIDERS === 'true';
if (!process.env.BYOKIT_KEYRING)
  logger.warn('BYOKIT_KEYRING is not set: using a throwaway keyring (memory storage forgets every key on exit anyway).');
if (mockProviders)
  logger.warn('BYOKIT_MOCK_PROVIDERS is on: chat answers come from the mock providers (recorded responses), not the real APIs.');
const { app, close } = await createHonoExample({ keyring: process.env.BYOKIT_KEYRING, mockProviders, environment: process.env, logger });

const server = serve({ fetch: app.fetch, port }, (info: AddressInfo) => {
  logger.info({ port: info.port }, `byokit example server on Hono listening on http://localhost:${info.port}/v2`);
  logger.info({ tokens: Object.keys(DEMO_TOKENS) }, `demo bearer tokens: ${Object.keys(DEMO_TOKENS).join(', ')}`);
});
const stop = () => server.close(() => void close().then(() => process.exit(0)));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
