import { serve } from '@hono/node-server';
import { createHonoExample, DEMO_TOKENS } from './app.js';

const port = Number(process.env.PORT ?? 8000);
const mockProviders = process.env.BYOKIT_MOCK_PROVIDERS === '1' || process.env.BYOKIT_MOCK_PROVIDERS === 'true';
const { app, close } = await createHonoExample({ keyring: process.env.BYOKIT_KEYRING, mockProviders, environment: process.env });
if (!process.env.BYOKIT_KEYRING)
  console.warn('BYOKIT_KEYRING is not set: using a throwaway keyring (memory storage forgets every key on exit anyway).');
if (mockProviders)
  console.warn('BYOKIT_MOCK_PROVIDERS is on: chat answers come from the mock providers (recorded responses), not the real APIs.');

const server = serve({ fetch: app.fetch, port }, (info) => {
  console.log(`byokit on Hono: http://localhost:${info.port}/v2`);
  console.log(`demo bearer tokens: ${Object.keys(DEMO_TOKENS).join(', ')}`);
});
const stop = () => server.close(() => void close().then(() => process.exit(0)));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
