import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fakeProviderKey } from '@byokit/core/testing';
import { ChildProcesses } from '../processes.mjs';
import { requestFor } from '../targets.mjs';

// The translator is a floor only if it does the translation byokit does: the same answer to the same request, in the
// contract's shape, plain and streamed, from the same mock.
const node = process.execPath;
const MOCK_CLI = fileURLToPath(new URL('./cli.js', import.meta.resolve('@byokit/core/mock-providers')));
const secrets = { token: 'translator-test-token', anthropicKey: fakeProviderKey('anthropic') };
const env = { BENCH_TOKEN: secrets.token, BENCH_ANTHROPIC_KEY: secrets.anthropicKey };
const processes = new ChildProcesses();
const origins = {};

beforeAll(async () => {
  const mock = await processes.start(node, [MOCK_CLI, '--port', '0'], { label: 'mock providers' });
  const upstream = mock.info.anthropic;
  const [translator, byokit] = await Promise.all([
    processes.start(node, [fileURLToPath(new URL('./translator.mjs', import.meta.url)), '--upstream', upstream], { env }),
    processes.start(node, [fileURLToPath(new URL('./byokit-server.mjs', import.meta.url)), '--anthropic-base-url', upstream], { env }),
  ]);
  origins.translator = `http://127.0.0.1:${translator.info.port}`;
  origins.byokit = `http://127.0.0.1:${byokit.info.port}`;
}, 60_000);
afterAll(() => processes.stopAll());

/** The guide's chat (the benchmark's request to byokit), sent to `target`. */
async function chat(target, stream) {
  const request = requestFor('byokit', { ...secrets, stream });
  const response = await fetch(`${origins[target]}${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
}

/** A stream's events: each `data:` line parsed, `[DONE]` as it is. */
const eventsOf = (text) =>
  text
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length))
    .map((data) => (data === '[DONE]' ? data : JSON.parse(data)));

it('answers a plain chat with the text byokit answers, as a chat.completion', async () => {
  const [translated, byokit] = await Promise.all([chat('translator', false), chat('byokit', false)]);
  expect(translated.status).toBe(200);
  const completion = JSON.parse(translated.text);
  expect(completion.object).toBe('chat.completion');
  expect(completion.choices[0].message.content).toBe(JSON.parse(byokit.text).choices[0].message.content);
  expect(completion.usage.prompt_tokens).toBeGreaterThan(0);
});

it('streams a chat as byokit does: the same text in chat.completion.chunk events, usage last, then [DONE]', async () => {
  const [translated, byokit] = await Promise.all([chat('translator', true), chat('byokit', true)]);
  expect(translated.status).toBe(200);
  expect(translated.type).toMatch(/^text\/event-stream/);
  const textOf = (events) => events.flatMap((event) => event.choices?.map((choice) => choice.delta.content ?? '') ?? []).join('');
  const events = eventsOf(translated.text);
  expect(textOf(events)).toBe(textOf(eventsOf(byokit.text)));
  expect(textOf(events)).not.toBe('');
  expect(events.at(-1)).toBe('[DONE]');
  expect(events.at(-2).usage.completion_tokens).toBeGreaterThan(0);
  expect(events.slice(0, -1).every((event) => event.object === 'chat.completion.chunk')).toBe(true);
});
