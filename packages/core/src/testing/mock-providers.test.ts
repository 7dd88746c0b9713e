import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { fixtureChunks, fixtureJson } from '../providers/fixtures.js';
import { startMockProviders, type MockProviders } from './mock-providers.js';

const anthropicKey = fakeProviderKey('anthropic');
const openaiKey = fakeProviderKey('openai');
const googleKey = fakeProviderKey('google');

const anthropicHeaders = (key = anthropicKey) => ({
  'x-api-key': key,
  'anthropic-version': '2023-06-01',
  'content-type': 'application/json',
});
const openaiHeaders = (key = openaiKey) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const googleHeaders = (key = googleKey) => ({ 'x-goog-api-key': key, 'content-type': 'application/json' });

const anthropicBody = (extra: Record<string, unknown> = {}) => ({
  model: 'claude-test',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'Hello' }],
  ...extra,
});
const openaiBody = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-test',
  messages: [{ role: 'user', content: 'Hello' }],
  ...extra,
});
const googleBody = { contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] };

function post(url: string, headers: Record<string, string>, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body), signal });
}

/** The recorded stream lines, and the model they name. */
function recorded(path: string, field: string): { lines: string[]; model: string } {
  const lines = fixtureChunks(path);
  const model = /"(?:model|modelVersion)":"([^"]+)"/.exec(lines.find((line) => line.includes(`"${field}":`))!)![1]!;
  return { lines, model };
}

const swap = (line: string, field: string, from: string, to: string) => line.replaceAll(`"${field}":"${from}"`, `"${field}":"${to}"`);

/** Reads a body to its end, keeping what arrived when the connection is cut. */
async function readAll(response: Response): Promise<{ text: string; error?: unknown }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  try {
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
    return { text };
  } catch (error) {
    return { text, error };
  }
}

let mock: MockProviders;
beforeAll(async () => {
  mock = await startMockProviders();
});
afterAll(() => mock.close());
afterEach(() => {
  mock.reset();
  mock.setChunkGapMs(0);
  mock.setAnswerDelayMs(0);
  mock.setRepeatChunks(1);
  mock.setStreamPacer(undefined);
  mock.rejectKeys.clear();
});

describe('base URLs', () => {
  it("gives each SDK's meaning of its base URL, all on one loopback origin", () => {
    expect(mock.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(mock.baseUrls).toEqual({ anthropic: mock.origin, openai: `${mock.origin}/v1`, google: mock.origin });
  });
});

describe('Anthropic', () => {
  const { lines, model: recordedModel } = recorded('anthropic/anthropic-text.chunks.txt', 'model');

  it('answers POST /v1/messages with the recorded message, only the model swapped, and records the request', async () => {
    const response = await post(`${mock.baseUrls.anthropic}/v1/messages`, anthropicHeaders(), anthropicBody());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(await response.json()).toEqual({ ...(fixtureJson('anthropic/anthropic-text.json') as object), model: 'claude-test' });
    expect(mock.requests).toEqual([
      {
        provider: 'anthropic',
        method: 'POST',
        path: '/v1/messages',
        query: {},
        headers: expect.objectContaining({ 'x-api-key': anthropicKey, 'anthropic-version': '2023-06-01' }),
        body: anthropicBody(),
        key: anthropicKey,
        aborted: false,
      },
    ]);
  });

  it('streams every recorded event in order, named by its type, with the model swapped in message_start', async () => {
    const response = await post(`${mock.baseUrls.anthropic}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const expected = lines.map(
      (line) => `event: ${(JSON.parse(line) as { type: string }).type}\ndata: ${swap(line, 'model', recordedModel, 'claude-test')}\n\n`,
    );
    expect(await response.text()).toBe(expected.join(''));
  });

  it('lists models on GET /v1/models when asked with Anthropic headers', async () => {
    const response = await fetch(`${mock.origin}/v1/models`, { headers: anthropicHeaders() });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: Array<{ type: string; id: string }>; has_more: boolean };
    expect(body.has_more).toBe(false);
    expect(body.data.every((model) => model.type === 'model' && model.id.startsWith('claude-'))).toBe(true);
    expect(mock.requests[0]).toMatchObject({ provider: 'anthropic', key: anthropicKey });
  });

  it('refuses a request without x-api-key, or without anthropic-version, as Anthropic does', async () => {
    const { 'x-api-key': _key, ...withoutKey } = anthropicHeaders();
    const missing = await post(`${mock.origin}/v1/messages`, withoutKey, anthropicBody());
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
      request_id: expect.stringMatching(/^req_/),
    });
    const { 'anthropic-version': _version, ...withoutVersion } = anthropicHeaders();
    const noVersion = await post(`${mock.origin}/v1/messages`, withoutVersion, anthropicBody());
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it('refuses a body that is not JSON, or lacks max_tokens, with invalid_request_error', async () => {
    const bad = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), '{"model": ');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(mock.requests[0]!.body).toBeUndefined();
    const noMax = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), { model: 'x', messages: [] });
    expect(await noMax.json()).toMatchObject({ error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  });
});

describe('OpenAI', () => {
  const { lines, model: recordedModel } = recorded('openai/openai-text.chunks.txt', 'model');
  const isUsageChunk = (line: string) => (JSON.parse(line) as { choices: unknown[] }).choices.length === 0;

  it('answers POST /v1/chat/completions with the recorded completion, only the model swapped', async () => {
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody());
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect(await response.json()).toEqual({ ...(fixtureJson('openai/openai-text.json') as object), model: 'gpt-test' });
    expect(mock.requests[0]).toMatchObject({ provider: 'openai', path: '/v1/chat/completions', key: openaiKey, body: openaiBody() });
    expect(mock.requests[0]!.headers.authorization).toBe(`Bearer ${openaiKey}`);
  });

  it('streams every recorded chunk then [DONE], with the usage chunk when include_usage is set', async () => {
    const body = openaiBody({ stream: true, stream_options: { include_usage: true } });
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), body);
    const expected = lines.map((line) => `data: ${swap(line, 'model', recordedModel, 'gpt-test')}\n\n`).join('') + 'data: [DONE]\n\n';
    expect(await response.text()).toBe(expected);
  });

  it('leaves out the usage chunk and the null usage fields without include_usage, as OpenAI does', async () => {
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ stream: true }));
    const expected = lines
      .filter((line) => !isUsageChunk(line))
      .map((line) => `data: ${swap(line, 'model', recordedModel, 'gpt-test').replace(',"usage":null', '')}\n\n`);
    const text = await response.text();
    expect(text).toBe(expected.join('') + 'data: [DONE]\n\n');
    expect(text).not.toContain('"usage"');
  });

  it('lists models on GET /v1/models when asked with a bearer key', async () => {
    const response = await fetch(`${mock.baseUrls.openai}/models`, { headers: openaiHeaders() });
    expect(await response.json()).toMatchObject({
      object: 'list',
      data: expect.arrayContaining([expect.objectContaining({ object: 'model' })]),
    });
    expect(mock.requests[0]).toMatchObject({ provider: 'openai', key: openaiKey });
  });

  it("refuses a missing key with OpenAI's 401", async () => {
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, { 'content-type': 'application/json' }, openaiBody());
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { message: string; type: string; param: null; code: null } };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(body.error.message).toMatch(/^You didn't provide an API key/);
  });

  it('refuses a body that is not JSON', async () => {
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), 'not json');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error', param: null, code: null } });
  });
});

describe('Google', () => {
  const { lines, model: recordedModel } = recorded('google/google-text.chunks.txt', 'modelVersion');

  it('answers :generateContent with the recorded response, only modelVersion swapped', async () => {
    const response = await post(`${mock.baseUrls.google}/v1beta/models/gemini-test:generateContent`, googleHeaders(), googleBody);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ...(fixtureJson('google/google-text.json') as object), modelVersion: 'gemini-test' });
    expect(mock.requests[0]).toMatchObject({
      provider: 'google',
      path: '/v1beta/models/gemini-test:generateContent',
      key: googleKey,
      body: googleBody,
    });
  });

  it('streams every recorded chunk on :streamGenerateContent?alt=sse', async () => {
    const url = `${mock.baseUrls.google}/v1beta/models/gemini-test:streamGenerateContent?alt=sse`;
    const response = await post(url, googleHeaders(), googleBody);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe(
      lines.map((line) => `data: ${swap(line, 'modelVersion', recordedModel, 'gemini-test')}\n\n`).join(''),
    );
    expect(mock.requests[0]!.query).toEqual({ alt: 'sse' });
  });

  it('answers :streamGenerateContent without alt=sse with one JSON array', async () => {
    const response = await post(`${mock.origin}/v1beta/models/gemini-test:streamGenerateContent`, googleHeaders(), googleBody);
    const chunks = (await response.json()) as Array<{ modelVersion: string }>;
    expect(chunks).toHaveLength(lines.length);
    expect(chunks.every((chunk) => chunk.modelVersion === 'gemini-test')).toBe(true);
  });

  it('lists models on GET /v1beta/models', async () => {
    const response = await fetch(`${mock.origin}/v1beta/models`, { headers: googleHeaders() });
    const body = (await response.json()) as { models: Array<{ name: string; supportedGenerationMethods: string[] }> };
    expect(
      body.models.every((model) => model.name.startsWith('models/') && model.supportedGenerationMethods.includes('generateContent')),
    ).toBe(true);
  });

  it('refuses a key in ?key= with a 400, and records it', async () => {
    const url = `${mock.origin}/v1beta/models/gemini-test:generateContent?key=${googleKey}`;
    const response = await post(url, googleHeaders(), googleBody);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    expect(mock.requests[0]!.query).toEqual({ key: googleKey });
  });

  it('refuses a request without x-goog-api-key as Google does (403 PERMISSION_DENIED)', async () => {
    const response = await post(
      `${mock.origin}/v1beta/models/gemini-test:generateContent`,
      { 'content-type': 'application/json' },
      googleBody,
    );
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 403, status: 'PERMISSION_DENIED' } });
  });

  it('refuses a body that is not JSON with INVALID_ARGUMENT', async () => {
    const response = await post(`${mock.origin}/v1beta/models/gemini-test:generateContent`, googleHeaders(), '{');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
  });
});

/** The JSON of each `data:` event of a stream (OpenAI's [DONE] left out), in order. */
async function dataEvents(response: Response): Promise<Array<Record<string, any>>> {
  return (await response.text())
    .split('\n\n')
    .filter(Boolean)
    .map((event) =>
      event
        .split('\n')
        .find((line) => line.startsWith('data: '))!
        .slice('data: '.length),
    )
    .filter((data) => data !== '[DONE]')
    .map((data) => JSON.parse(data) as Record<string, any>);
}

describe('max_tokens and stop sequences end the answer as the real API does', () => {
  const anthropicMessage = fixtureJson('anthropic/anthropic-text.json') as { content: Array<{ text: string }> };
  const anthropicText = anthropicMessage.content[0]!.text;
  const anthropicStreamText = fixtureChunks('anthropic/anthropic-text.chunks.txt')
    .map((line) => JSON.parse(line) as { delta?: { text?: string } })
    .map((event) => event.delta?.text ?? '')
    .join('');
  const openaiText = (fixtureJson('openai/openai-text.json') as { choices: Array<{ message: { content: string } }> }).choices[0]!.message
    .content;
  const openaiStreamText = fixtureChunks('openai/openai-text.chunks.txt')
    .map((line) => (JSON.parse(line) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '')
    .join('');
  const googleText = (fixtureJson('google/google-text.json') as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> })
    .candidates[0]!.content.parts[0]!.text;
  const googleStreamText = fixtureChunks('google/google-text.chunks.txt')
    .map(
      (line) => (JSON.parse(line) as { candidates: Array<{ content: { parts: Array<{ text?: string }> } }> }).candidates[0]!.content.parts,
    )
    .flat()
    .map((part) => part.text ?? '')
    .join('');
  const googleUrl = (method: string) => `${mock.origin}/v1beta/models/gemini-test:${method}`;

  it('Anthropic stops at max_tokens: part of the text, stop_reason max_tokens, output_tokens = max_tokens', async () => {
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ max_tokens: 5 }));
    const message = (await response.json()) as { content: Array<{ text: string }>; stop_reason: string; stop_sequence: null; usage: any };
    expect(message).toMatchObject({ stop_reason: 'max_tokens', stop_sequence: null, usage: { input_tokens: 12, output_tokens: 5 } });
    const text = message.content[0]!.text;
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(anthropicText.length);
    expect(anthropicText.startsWith(text)).toBe(true);
  });

  it('Anthropic streams stop at max_tokens: fewer text deltas, the same event order, message_delta says max_tokens', async () => {
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ max_tokens: 5, stream: true }));
    const events = await dataEvents(response);
    const types = events.map((event) => event.type as string);
    expect(types.filter((type) => type !== 'content_block_delta')).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const text = events.map((event) => event.delta?.text ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(anthropicStreamText.length);
    expect(anthropicStreamText.startsWith(text)).toBe(true);
    expect(events.find((event) => event.type === 'message_delta')).toMatchObject({
      delta: { stop_reason: 'max_tokens', stop_sequence: null },
      usage: { output_tokens: 5 },
    });
  });

  it('Anthropic stops before a stop sequence and names it, plain and streamed', async () => {
    const body = anthropicBody({ stop_sequences: ['nothing here', 'doing'] });
    const message = (await (await post(`${mock.origin}/v1/messages`, anthropicHeaders(), body)).json()) as any;
    expect(message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'doing' });
    expect(message.content[0].text).toBe("Hello! I'm ");
    expect(message.usage.output_tokens).toBeLessThan(29);
    const events = await dataEvents(await post(`${mock.origin}/v1/messages`, anthropicHeaders(), { ...body, stream: true }));
    expect(events.map((event) => event.delta?.text ?? '').join('')).toBe("Hello! I'm ");
    expect(events.find((event) => event.type === 'message_delta')!.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'doing' });
  });

  it('Anthropic answers as recorded when neither limit is reached', async () => {
    const body = anthropicBody({ max_tokens: 29, stop_sequences: ['not in the answer'] });
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), body);
    expect(await response.json()).toEqual({ ...(fixtureJson('anthropic/anthropic-text.json') as object), model: 'claude-test' });
  });

  it.each(['max_completion_tokens', 'max_tokens'])(
    'OpenAI stops at %s: part of the text, finish_reason length, completion_tokens = the limit',
    async (field) => {
      const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ [field]: 10 }));
      const completion = (await response.json()) as any;
      expect(completion.choices[0].finish_reason).toBe('length');
      expect(completion.usage).toMatchObject({ prompt_tokens: 16, completion_tokens: 10, total_tokens: 26 });
      const text = completion.choices[0].message.content as string;
      expect(text.length).toBeGreaterThan(0);
      expect(text.length).toBeLessThan(openaiText.length);
      expect(openaiText.startsWith(text)).toBe(true);
    },
  );

  it('OpenAI streams stop at the limit: the finish chunk says length, the usage chunk counts the limit', async () => {
    const body = openaiBody({ max_completion_tokens: 10, stream: true, stream_options: { include_usage: true } });
    const chunks = await dataEvents(await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), body));
    const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(openaiStreamText.length);
    expect(openaiStreamText.startsWith(text)).toBe(true);
    expect(chunks.at(-2)!.choices[0]).toMatchObject({ delta: {}, finish_reason: 'length' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 16, completion_tokens: 10, total_tokens: 26 } });
  });

  it('OpenAI stops before a stop sequence (a string or a list) with finish_reason stop', async () => {
    for (const stop of ['Date', ['Date', 'Purpose']]) {
      const plain = (await (await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ stop }))).json()) as any;
      expect(plain.choices[0]).toMatchObject({ message: { content: '**Holiday Name:** Galaxy Day  \n\n**' }, finish_reason: 'stop' });
      expect(plain.usage.completion_tokens).toBeLessThan(363);
      const body = openaiBody({ stop, stream: true });
      const chunks = await dataEvents(await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), body));
      expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('**Holiday Name:** Harmony Day\n\n**');
      expect(chunks.at(-1)!.choices[0].finish_reason).toBe('stop');
    }
  });

  it('Google stops at maxOutputTokens, thinking counted first: part of the text, finishReason MAX_TOKENS', async () => {
    // The recording thought 244 tokens: 250 leaves 6 for the answer.
    const body = { ...googleBody, generationConfig: { maxOutputTokens: 250 } };
    const answer = (await (await post(googleUrl('generateContent'), googleHeaders(), body)).json()) as any;
    expect(answer.candidates[0].finishReason).toBe('MAX_TOKENS');
    expect(answer.usageMetadata).toMatchObject({
      promptTokenCount: 9,
      candidatesTokenCount: 6,
      thoughtsTokenCount: 244,
      totalTokenCount: 259,
    });
    const text = answer.candidates[0].content.parts[0].text as string;
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(googleText.length);
    expect(googleText.startsWith(text)).toBe(true);
  });

  it('Google answers no text at all when thinking uses up maxOutputTokens', async () => {
    const body = { ...googleBody, generationConfig: { maxOutputTokens: 100 } };
    const answer = (await (await post(googleUrl('generateContent'), googleHeaders(), body)).json()) as any;
    expect(answer.candidates[0]).toEqual({ content: { role: 'model' }, finishReason: 'MAX_TOKENS', index: 0 });
    expect(answer.usageMetadata).toMatchObject({ promptTokenCount: 9, thoughtsTokenCount: 100, totalTokenCount: 109 });
    expect(answer.usageMetadata.candidatesTokenCount).toBeUndefined();
    const chunks = await dataEvents(await post(`${googleUrl('streamGenerateContent')}?alt=sse`, googleHeaders(), body));
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.candidates[0].finishReason).toBe('MAX_TOKENS');
    expect(chunks[0]!.usageMetadata).toMatchObject({ thoughtsTokenCount: 100, totalTokenCount: 109 });
  });

  it('Google streams stop at maxOutputTokens: the last chunk says MAX_TOKENS, no chunk counts more than the limit', async () => {
    // The streamed recording thought 185 tokens: 190 leaves 5 for the answer.
    const body = { ...googleBody, generationConfig: { maxOutputTokens: 190 } };
    const chunks = await dataEvents(await post(`${googleUrl('streamGenerateContent')}?alt=sse`, googleHeaders(), body));
    const text = chunks.flatMap((chunk) => chunk.candidates[0].content.parts.map((part: { text?: string }) => part.text ?? '')).join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text.length).toBeLessThan(googleStreamText.length);
    expect(googleStreamText.startsWith(text)).toBe(true);
    expect(chunks.at(-1)!.candidates[0].finishReason).toBe('MAX_TOKENS');
    expect(chunks.at(-1)!.usageMetadata).toMatchObject({ candidatesTokenCount: 5, thoughtsTokenCount: 185, totalTokenCount: 199 });
    for (const chunk of chunks) expect(chunk.usageMetadata.totalTokenCount - chunk.usageMetadata.promptTokenCount).toBeLessThanOrEqual(190);
  });

  it('Google stops before a stop sequence with finishReason STOP, plain and streamed', async () => {
    const body = { ...googleBody, generationConfig: { stopSequences: ['strawberry'] } };
    const answer = (await (await post(googleUrl('generateContent'), googleHeaders(), body)).json()) as any;
    expect(answer.candidates[0].content.parts[0].text).toBe("There are **3** r's in ");
    expect(answer.candidates[0].finishReason).toBe('STOP');
    expect(answer.usageMetadata.candidatesTokenCount).toBeLessThan(28);
    const chunks = await dataEvents(await post(`${googleUrl('streamGenerateContent')}?alt=sse`, googleHeaders(), body));
    const text = chunks.flatMap((chunk) => chunk.candidates[0].content.parts.map((part: { text?: string }) => part.text ?? '')).join('');
    expect(text).toBe('There are **3** "r"s in ');
    expect(chunks.at(-1)!.candidates[0].finishReason).toBe('STOP');
  });
});

describe('sampling settings each provider refuses', () => {
  it('Anthropic refuses a temperature outside 0–1 and a max_tokens below 1 with invalid_request_error, nothing generated', async () => {
    for (const [extra, message] of [
      [{ temperature: 1.5 }, 'temperature: Input should be less than or equal to 1'],
      [{ temperature: -0.5 }, 'temperature: Input should be greater than or equal to 0'],
      [{ max_tokens: 0 }, 'max_tokens: Input should be greater than or equal to 1'],
    ] as const) {
      const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ ...extra, stream: true }));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual({
        type: 'error',
        error: { type: 'invalid_request_error', message },
        request_id: expect.stringMatching(/^req_/),
      });
    }
    const fine = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ temperature: 1 }));
    expect(fine.status).toBe(200);
  });

  it('OpenAI refuses a temperature outside 0–2 and a token limit below 1, naming the parameter', async () => {
    for (const [extra, error] of [
      [
        { temperature: 2.5 },
        {
          message: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 2.5 instead.",
          param: 'temperature',
          code: 'decimal_above_max_value',
        },
      ],
      [
        { temperature: -1 },
        {
          message: "Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got -1 instead.",
          param: 'temperature',
          code: 'decimal_below_min_value',
        },
      ],
      [
        { max_completion_tokens: 0 },
        {
          message: "Invalid 'max_completion_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
          param: 'max_completion_tokens',
          code: 'integer_below_min_value',
        },
      ],
    ] as const) {
      const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ ...extra, stream: true }));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: { ...error, type: 'invalid_request_error' } });
    }
    const fine = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ temperature: 2 }));
    expect(fine.status).toBe(200);
  });

  // The wording OpenAI's users quote: continuedev/continue#2461 (5 stops), diffbot/code-gpt-docs#445 (GPT-5's
  // temperature), huggingface/smolagents#1671 (gpt-5-mini's stop), OpenGradient/tee-gateway#154 (GPT-6's temperature).
  it('OpenAI refuses more than 4 stop sequences, and the sampling settings its reasoning models take no value of', async () => {
    const unsupported = (param: string) => ({
      message: `Unsupported parameter: '${param}' is not supported with this model.`,
      param,
      code: 'unsupported_parameter',
    });
    for (const [extra, error] of [
      [
        { stop: ['1', '2', '3', '4', '5'] },
        {
          message: "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length 5 instead.",
          param: 'stop',
          code: 'array_above_max_length',
        },
      ],
      [
        { model: 'o4-mini', temperature: 0.7 },
        {
          message: "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported.",
          param: 'temperature',
          code: 'unsupported_value',
        },
      ],
      [{ model: 'gpt-5-mini', stop: ['END'] }, unsupported('stop')],
      [{ model: 'gpt-6-luna', temperature: 0.7 }, unsupported('temperature')],
      [{ model: 'gpt-6-luna', top_p: 0.9 }, unsupported('top_p')],
    ] as const) {
      const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody(extra));
      expect([JSON.stringify(extra), response.status]).toEqual([JSON.stringify(extra), 400]);
      expect(await response.json()).toEqual({ error: { ...error, type: 'invalid_request_error' } });
    }
    for (const extra of [
      { stop: ['1', '2', '3', '4'] },
      { model: 'o4-mini', temperature: 1 },
      { model: 'gpt-5-chat-latest', temperature: 0.7, stop: ['END'] },
      { model: 'gpt-6-luna', stop: ['END'] },
    ]) {
      const fine = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody(extra));
      expect([JSON.stringify(extra), fine.status]).toEqual([JSON.stringify(extra), 200]);
    }
  });

  // Google's wording as a Gemini 2.5 Flash user met it (continuedev/continue#7849); an empty list is refused as well
  // (binary-husky/gpt_academic#2092).
  it('Google refuses more than 5 stop sequences, or none, with INVALID_ARGUMENT', async () => {
    const url = `${mock.origin}/v1beta/models/gemini-test:generateContent`;
    for (const stopSequences of [['1', '2', '3', '4', '5', '6'], []]) {
      const response = await post(url, googleHeaders(), { ...googleBody, generationConfig: { stopSequences } });
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: {
          code: 400,
          message: `Unable to submit request because it has a stopSequences value of ${stopSequences.length} but the supported range is from 1 (inclusive) to 6 (exclusive). Update the value and try again.`,
          status: 'INVALID_ARGUMENT',
        },
      });
    }
    const fine = await post(url, googleHeaders(), { ...googleBody, generationConfig: { stopSequences: ['1', '2', '3', '4', '5'] } });
    expect(fine.status).toBe(200);
  });

  it('Google refuses a temperature outside 0–2 with INVALID_ARGUMENT', async () => {
    const url = `${mock.origin}/v1beta/models/gemini-test:streamGenerateContent?alt=sse`;
    const response = await post(url, googleHeaders(), { ...googleBody, generationConfig: { temperature: 2.5 } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/json; charset=UTF-8');
    expect(await response.json()).toEqual({
      error: {
        code: 400,
        message:
          'Unable to submit request because it has a temperature value of 2.5 but the supported range is from 0 (inclusive) to 2.0001 (exclusive). Update the value and try again.',
        status: 'INVALID_ARGUMENT',
      },
    });
    const fine = await post(url, googleHeaders(), { ...googleBody, generationConfig: { temperature: 2 } });
    expect(fine.status).toBe(200);
  });
});

describe('message bodies the providers refuse', () => {
  const anthropicRefusal = async (body: Record<string, unknown>) => {
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), body);
    expect(response.status).toBe(400);
    return ((await response.json()) as { error: { type: string; message: string } }).error;
  };

  it('Anthropic refuses temperature and top_p together on current models', async () => {
    expect(await anthropicRefusal(anthropicBody({ temperature: 0.5, top_p: 0.9 }))).toEqual({
      type: 'invalid_request_error',
      message: '`temperature` and `top_p` cannot both be specified for this model. Please use only one.',
    });
    const either = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ top_p: 0.9 }));
    expect(either.status).toBe(200);
  });

  it('Anthropic refuses an empty or whitespace-only text, and a final assistant turn ending in whitespace', async () => {
    for (const content of ['', '  \n', [{ type: 'text', text: ' ' }]]) {
      expect(await anthropicRefusal(anthropicBody({ messages: [{ role: 'user', content }] }))).toEqual({
        type: 'invalid_request_error',
        message: 'messages: text content blocks must contain non-whitespace text',
      });
    }
    const prefill = [
      { role: 'user', content: 'Hello' },
      { role: 'assistant', content: [{ type: 'text', text: 'Well ' }] },
    ];
    expect(await anthropicRefusal(anthropicBody({ messages: prefill }))).toEqual({
      type: 'invalid_request_error',
      message: 'messages: final assistant content cannot end with trailing whitespace',
    });
    const trailingUser = [{ role: 'user', content: 'Hello ' }];
    expect((await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ messages: trailingUser }))).status).toBe(200);
  });

  it('Google refuses an empty text part with INVALID_ARGUMENT naming it', async () => {
    const contents = [
      { role: 'user', parts: [{ text: 'Hello' }] },
      { role: 'model', parts: [{ text: 'Hi' }, { text: '' }] },
    ];
    const response = await post(`${mock.origin}/v1beta/models/gemini-test:generateContent`, googleHeaders(), { contents });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 400,
        message: "* GenerateContentRequest.contents[1].parts[1].data: required oneof field 'data' must have one initialized field\n",
        status: 'INVALID_ARGUMENT',
      },
    });
  });
});

describe('rejected keys', () => {
  it('answers a rejected key in each provider’s own shape, from the option or added at run time', async () => {
    const rejecting = await startMockProviders({ rejectKeys: [anthropicKey] });
    try {
      rejecting.rejectKeys.add(openaiKey).add(googleKey);
      const anthropic = await post(`${rejecting.origin}/v1/messages`, anthropicHeaders(), anthropicBody());
      expect(anthropic.status).toBe(401);
      expect(await anthropic.json()).toMatchObject({
        type: 'error',
        error: { type: 'authentication_error', message: 'invalid x-api-key' },
      });

      const openai = await post(`${rejecting.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody());
      expect(openai.status).toBe(401);
      const openaiError = ((await openai.json()) as { error: { message: string; code: string } }).error;
      expect(openaiError.code).toBe('invalid_api_key');
      // OpenAI echoes a masked key: its first 8 and last 4 characters, nothing in between.
      expect(openaiError.message).toContain(`sk-proj-${'*'.repeat(openaiKey.length - 12)}${openaiKey.slice(-4)}`);
      expect(openaiError.message).not.toContain(openaiKey.slice(8, 16));

      const google = await post(`${rejecting.origin}/v1beta/models/gemini-test:generateContent`, googleHeaders(), googleBody);
      expect(google.status).toBe(400);
      expect(await google.json()).toMatchObject({
        error: {
          code: 400,
          status: 'INVALID_ARGUMENT',
          details: expect.arrayContaining([expect.objectContaining({ reason: 'API_KEY_INVALID' })]),
        },
      });
      expect(rejecting.requests.map((request) => request.key)).toEqual([anthropicKey, openaiKey, googleKey]);
    } finally {
      await rejecting.close();
    }
  });
});

describe('failNext', () => {
  it('gives the next request to that provider the recorded error body for the status, once', async () => {
    mock.failNext('google', { status: 429 });
    const url = `${mock.origin}/v1beta/models/gemini-test:generateContent`;
    const failed = await post(url, googleHeaders(), googleBody);
    expect(failed.status).toBe(429);
    expect(await failed.json()).toEqual(fixtureJson('google/google-429-retry-info.json'));
    expect((await post(url, googleHeaders(), googleBody)).status).toBe(200);

    mock.failNext('openai', { status: 400 });
    const openai = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody());
    expect(await openai.json()).toEqual(fixtureJson('openai/reasoning-model-legacy-parameter-error.json'));
  });

  it("answers in the provider's shape for other statuses, echoing a masked key in OpenAI's 401", async () => {
    mock.failNext('anthropic', { status: 529 });
    const anthropic = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody());
    expect(anthropic.status).toBe(529);
    const body = (await anthropic.json()) as { request_id: string };
    expect(body).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });
    expect(anthropic.headers.get('request-id')).toBe(body.request_id);

    mock.failNext('openai', { status: 401 });
    const openai = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody());
    expect(await openai.json()).toMatchObject({
      error: { code: 'invalid_api_key', message: expect.stringContaining(openaiKey.slice(-4)) },
    });
  });

  it('takes a body and headers, queues in order, and touches no other provider', async () => {
    mock.failNext('anthropic', {
      status: 502,
      body: '<html>Bad gateway</html>',
      headers: { 'content-type': 'text/html', 'retry-after': '3' },
    });
    mock.failNext('anthropic', { status: 500 });
    const other = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody());
    expect(other.status).toBe(200);
    const first = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody());
    expect([first.status, first.headers.get('content-type'), first.headers.get('retry-after'), await first.text()]).toEqual([
      502,
      'text/html',
      '3',
      '<html>Bad gateway</html>',
    ]);
    const second = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody());
    expect(second.status).toBe(500);
    expect(await second.json()).toMatchObject({ error: { type: 'api_error' } });
    expect((await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody())).status).toBe(200);
  });
});

describe('streamErrorNext', () => {
  it('Anthropic: HTTP 200, the events through the first text delta, then an overloaded_error event', async () => {
    mock.streamErrorNext('anthropic');
    // A request that does not stream passes the scenario by.
    expect((await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody())).status).toBe(200);
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }));
    expect(response.status).toBe(200);
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events.map((event) => event.split('\n')[0])).toEqual([
      'event: message_start',
      'event: content_block_start',
      'event: ping',
      'event: content_block_delta',
      'event: error',
    ]);
    expect(events.at(-1)).toBe('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
  });

  it('OpenAI: the chunks through the first text, then data: {"error": …} and no [DONE]', async () => {
    mock.streamErrorNext('openai');
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ stream: true }));
    expect(response.status).toBe(200);
    const events = (await response.text()).split('\n\n').filter(Boolean);
    expect(events).toHaveLength(3);
    expect(JSON.parse(events[1]!.slice('data: '.length))).toMatchObject({ choices: [{ delta: { content: expect.any(String) } }] });
    expect(JSON.parse(events[2]!.slice('data: '.length))).toEqual({
      error: { message: expect.any(String), type: 'server_error', param: null, code: null },
    });
  });

  it('Google: the first text chunk, an error object, then the connection is cut', async () => {
    mock.streamErrorNext('google');
    const url = `${mock.origin}/v1beta/models/gemini-test:streamGenerateContent?alt=sse`;
    const response = await post(url, googleHeaders(), googleBody);
    expect(response.status).toBe(200);
    const { text, error } = await readAll(response);
    expect(error).toBeDefined();
    const events = text.split('\n\n').filter(Boolean);
    expect(events).toHaveLength(2);
    expect(JSON.parse(events[1]!.slice('data: '.length))).toMatchObject({ error: { code: 503, status: 'UNAVAILABLE' } });
    // The mock cut the connection: that is no client abort.
    expect(mock.requests[0]!.aborted).toBe(false);
  });
});

describe('pacing and length', () => {
  it('spaces streamed events by the chunk gap, set as an option or at run time', async () => {
    const gapMs = 10;
    const events = fixtureChunks('anthropic/anthropic-text.chunks.txt').length;
    const paced = await startMockProviders({ chunkGapMs: gapMs });
    try {
      const started = performance.now();
      await (await post(`${paced.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }))).text();
      expect(performance.now() - started).toBeGreaterThanOrEqual(gapMs * events * 0.5);
    } finally {
      await paced.close();
    }
    mock.setChunkGapMs(gapMs);
    const started = performance.now();
    await (await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }))).text();
    expect(performance.now() - started).toBeGreaterThanOrEqual(gapMs * events * 0.5);
    expect(() => mock.setChunkGapMs(-1)).toThrow(RangeError);
  });

  it('holds the event after a text event until the stream pacer lets it go, asking it before every event but the first', async () => {
    const whole = await (await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }))).text();
    const asked: Array<{ index: number; afterText: boolean }> = [];
    let release: (() => void) | undefined;
    mock.setStreamPacer((event) => {
      asked.push(event);
      // Only the first event after text is held: the test lets it go once it has seen the stream stop there.
      if (event.afterText && release === undefined) return new Promise<void>((resolve) => (release = resolve));
    });
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }));
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('content_block_delta')) text += (await reader.read()).value;
    await vi.waitFor(() => expect(release).toBeDefined());
    // Held: what was sent ends with the first text event, though the recorded stream goes on.
    const events = whole.split('\n\n').filter(Boolean);
    const firstText = events.findIndex((event) => event.startsWith('event: content_block_delta'));
    expect(text).toBe(
      events
        .slice(0, firstText + 1)
        .map((event) => `${event}\n\n`)
        .join(''),
    );
    release!();
    for (let part = await reader.read(); !part.done; part = await reader.read()) text += part.value;
    expect(text).toBe(whole);
    expect(asked).toEqual(
      events.slice(1).map((_, index) => ({ index: index + 1, afterText: events[index]!.startsWith('event: content_block_delta') })),
    );
  });

  it('waits the answer delay before answering, like a provider still thinking, and records a client that gave up meanwhile', async () => {
    mock.setAnswerDelayMs(100);
    const started = performance.now();
    expect((await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody())).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    const controller = new AbortController();
    const answer = post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody(), controller.signal).catch(() => 'gave up');
    await mock.waitForRequest((request) => request.provider === 'anthropic' && mock.requests.length === 2);
    controller.abort();
    expect(await answer).toBe('gave up');
    expect(await mock.waitForRequest((request) => request.aborted)).toMatchObject({ provider: 'anthropic' });
    expect(() => mock.setAnswerDelayMs(-1)).toThrow(RangeError);
  });

  it('repeats the run of text events, leaving every other event as recorded', async () => {
    mock.setRepeatChunks(3);
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }));
    const events = (await response.text())
      .split('\n\n')
      .filter(Boolean)
      .map((event) => JSON.parse(event.split('\n')[1]!.slice('data: '.length)) as { type: string; delta?: { text?: string } });
    const recordedEvents = fixtureChunks('anthropic/anthropic-text.chunks.txt').map(
      (line) => JSON.parse(line) as { type: string; delta?: { text?: string } },
    );
    const text = (list: typeof events) => list.map((event) => (event.type === 'content_block_delta' ? event.delta!.text : '')).join('');
    expect(text(events)).toBe(text(recordedEvents).repeat(3));
    expect(events.filter((event) => event.type !== 'content_block_delta')).toEqual(
      recordedEvents
        .filter((event) => event.type !== 'content_block_delta')
        .map((event) => (event.type === 'message_start' ? expect.anything() : event)),
    );
  });
});

describe('recording', () => {
  it('records aborted when the client goes away mid-stream', async () => {
    mock.setChunkGapMs(50);
    const controller = new AbortController();
    const response = await post(`${mock.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }), controller.signal);
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    const aborted = await mock.waitForRequest((request) => request.aborted);
    expect(aborted).toMatchObject({ provider: 'anthropic', key: anthropicKey });
  });

  it('waitForRequest resolves with a request still to come, and rejects after its timeout', async () => {
    const waiting = mock.waitForRequest((request) => request.provider === 'google');
    await post(`${mock.origin}/v1beta/models/gemini-test:generateContent`, googleHeaders(), googleBody);
    expect(await waiting).toMatchObject({ provider: 'google', aborted: false });
    await expect(mock.waitForRequest((request) => request.provider === 'openai', { timeoutMs: 20 })).rejects.toThrow(
      /no matching request within 20 ms; received: POST \/v1beta\/models\/gemini-test:generateContent/,
    );
  });

  it('answers an unknown path with a JSON 404 and records it', async () => {
    const response = await fetch(`${mock.origin}/v1/v1/chat/completions`, { method: 'POST', headers: openaiHeaders(), body: '{}' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: 'not_found' } });
    expect(mock.requests[0]).toMatchObject({ provider: 'unknown', path: '/v1/v1/chat/completions', key: undefined });
  });

  it('keeps only the last maxRequestsKept requests, for a mock that serves for long (the command, an offline example)', async () => {
    const kept = await startMockProviders({ maxRequestsKept: 2 });
    try {
      for (const path of ['/first', '/second', '/third']) await (await fetch(`${kept.origin}${path}`)).text();
      expect(kept.requests.map((request) => request.path)).toEqual(['/second', '/third']);
    } finally {
      await kept.close();
    }
    await expect(startMockProviders({ maxRequestsKept: 0 })).rejects.toThrow(RangeError);
  });

  it('waitForRequest hears a request aborted after maxRequestsKept let go of it', async () => {
    const kept = await startMockProviders({ maxRequestsKept: 1, answerDelayMs: 60_000 });
    try {
      const leaving = new AbortController();
      const abortedOne = kept.waitForRequest((request) => request.path === '/first' && request.aborted);
      const first = fetch(`${kept.origin}/first`, { signal: leaving.signal }).catch(() => undefined);
      await kept.waitForRequest((request) => request.path === '/first');
      void fetch(`${kept.origin}/second`).catch(() => undefined);
      await kept.waitForRequest((request) => request.path === '/second');
      expect(kept.requests.map((request) => request.path)).toEqual(['/second']);
      leaving.abort();
      await first;
      expect(await abortedOne).toMatchObject({ path: '/first', aborted: true });
    } finally {
      await kept.close();
    }
  });

  it('reset forgets the requests and the queued scenarios', async () => {
    mock.failNext('openai', { status: 500 });
    mock.streamErrorNext('openai');
    await fetch(`${mock.origin}/nowhere`);
    mock.reset();
    expect(mock.requests).toHaveLength(0);
    const response = await post(`${mock.baseUrls.openai}/chat/completions`, openaiHeaders(), openaiBody({ stream: true }));
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/data: \[DONE\]\n\n$/);
  });
});

describe('close', () => {
  it('closes at once with a stream open, cutting it', async () => {
    // A stream whose next event is an hour away: only cutting it lets close() resolve within the test's time.
    const closing = await startMockProviders({ chunkGapMs: 3_600_000 });
    const response = await post(`${closing.origin}/v1/messages`, anthropicHeaders(), anthropicBody({ stream: true }));
    const reader = response.body!.getReader();
    await reader.read();
    await closing.close();
    await expect(reader.read()).rejects.toThrow();
    expect(closing.requests[0]!.aborted).toBe(false);
  });
});
