// A bare translating proxy: what any proxy must do that takes the user guide's chat body from its client and calls
// Anthropic's Messages API for it, and nothing of byokit's. It reads the body whole and parses it, builds the same
// Anthropic body byokit sends, calls the upstream over undici's keep-alive pool with `dispatch()` (as byokit's
// ProviderHttp does), and answers in the contract's shape: plain, one `chat.completion`; streamed, its head once the
// upstream's first event is in and parsed (as byokit writes it), then a `chat.completion.chunk` per text delta, a last
// chunk with usage, and `[DONE]`. No authentication, validation, keys, limits, budget, metering, logging or error
// mapping: a diagnostic's second floor (translator-reference.mjs), so that byokit's own cost can be told from what
// translating between two APIs costs.
//
//   node translator.mjs --upstream http://127.0.0.1:PORT   → prints {"port":N} once listening on 127.0.0.1
//   (BENCH_ANTHROPIC_KEY: the key it sends in x-api-key)
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createParser } from 'eventsource-parser';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
const key = process.env.BENCH_ANTHROPIC_KEY;
if (!values.upstream || !key) throw new Error('usage: BENCH_ANTHROPIC_KEY=… translator.mjs --upstream http://127.0.0.1:PORT');
const pool = new Pool(new URL(values.upstream).origin);
const UPSTREAM_HEADERS = { 'content-type': 'application/json', 'x-api-key': key, 'anthropic-version': '2023-06-01' };
// The catalog's one model the benchmark asks for (targets.mjs): its id maps to Anthropic's name, as byokit's catalog does.
const MODEL = 'claude-sonnet-4-5';

/** The guide's chat body as Anthropic's Messages body, byte for byte what byokit sends for it (targets.mjs). */
function anthropicBody(body) {
  return JSON.stringify({
    model: MODEL,
    max_tokens: body.max_tokens,
    messages: body.messages.map((message) => ({ role: message.role, content: [{ type: 'text', text: message.content }] })),
    stream: body.stream === true,
    temperature: body.temperature,
  });
}

/** The contract's identity fields of one answer. */
const identity = () => ({ id: `chatcmpl-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model: MODEL });

/** A plain answer: the upstream's body read whole, one `chat.completion` written. */
function plainAnswer(response) {
  const chunks = [];
  return {
    onData: (chunk) => chunks.push(chunk),
    onEnd: () => {
      const message = JSON.parse(Buffer.concat(chunks).toString());
      const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      const completion = {
        ...identity(),
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: message.usage.input_tokens, completion_tokens: message.usage.output_tokens },
      };
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(completion));
    },
  };
}

/** A streamed answer: the head after the first event, a chunk per text delta, usage and `[DONE]` at `message_stop`. */
function streamedAnswer(response) {
  const { id, created, model } = identity();
  const chunk = (fields) => `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, ...fields })}\n\n`;
  const usage = {};
  const parser = createParser({
    onEvent(event) {
      const data = JSON.parse(event.data);
      if (!response.headersSent)
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).flushHeaders();
      if (data.type === 'message_start') usage.prompt_tokens = data.message.usage.input_tokens;
      else if (data.type === 'content_block_delta' && data.delta.type === 'text_delta') {
        response.write(chunk({ choices: [{ index: 0, delta: { content: data.delta.text }, finish_reason: null }] }));
      } else if (data.type === 'message_delta') usage.completion_tokens = data.usage.output_tokens;
      else if (data.type === 'message_stop') {
        response.write(
          chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + chunk({ choices: [], usage }) + 'data: [DONE]\n\n',
        );
      }
    },
  });
  const decoder = new TextDecoder();
  return { onData: (bytes) => parser.feed(decoder.decode(bytes, { stream: true })), onEnd: () => response.end() };
}

const server = createServer((request, response) => {
  const parts = [];
  request.on('data', (part) => parts.push(part));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(parts).toString());
    const answer = body.stream === true ? streamedAnswer(response) : plainAnswer(response);
    let controller;
    // The client went away mid-answer: drop the upstream request too, as any proxy must.
    response.on('close', () => {
      if (!response.writableFinished) controller?.abort(new Error('client gone'));
    });
    pool.dispatch(
      { method: 'POST', path: '/v1/messages', headers: UPSTREAM_HEADERS, body: anthropicBody(body) },
      {
        onRequestStart: (started) => (controller = started),
        onResponseStart: (_controller, status) => {
          if (status !== 200) {
            process.stderr.write(`translator: the upstream answered ${status}\n`);
            response.writeHead(502).end();
          }
        },
        onResponseData: (_controller, bytes) => !response.writableEnded && answer.onData(bytes),
        onResponseEnd: () => !response.writableEnded && answer.onEnd(),
        onResponseError: (_controller, error) => {
          process.stderr.write(`translator: the upstream call failed: ${error.code ?? error.message}\n`);
          if (!response.headersSent) response.writeHead(502);
          response.end();
        },
      },
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.once('SIGTERM', () => process.exit(0));
process.once('SIGINT', () => process.exit(0));
