// The OpenAI Chat Completions API, as the mock speaks it: https://platform.openai.com/docs/api-reference/chat.
// OpenAI pretty-prints its JSON bodies (two spaces) and ends streams with `data: [DONE]`.
import { fixtureChunks, fixtureJson } from '../../providers/fixtures.js';
import type { AnswerContext, EndpointHandler, MockAnswer, MockRequest, ProviderMock } from './types.js';
import {
  cutTextEvents,
  endingOf,
  type Ending,
  failureAnswer,
  hasString,
  headerValue,
  isRecord,
  jsonAnswer,
  repeatTextRun,
  replaceStringField,
  sseEvent,
  stopSequences,
  throughFirstText,
  tokenLimit,
  type Limits,
} from './wire.js';

interface RecordedChunk {
  line: string;
  /** The chunk's new text, or `undefined` when it has none. */
  text: string | undefined;
  /** The last chunk, with `choices: []` and the usage: sent only with `stream_options.include_usage`. */
  usage: boolean;
}

interface Recording {
  completion: Record<string, unknown>;
  chunks: RecordedChunk[];
  model: string;
  /** The stream's whole text and its completion tokens (from its usage chunk). */
  streamText: string;
  streamTokens: number;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

let recording: Recording | undefined;

function recorded(): Recording {
  if (recording !== undefined) return recording;
  const completion = fixtureJson('openai/openai-text.json') as Record<string, unknown>;
  let streamTokens = 0;
  const chunks = fixtureChunks('openai/openai-text.chunks.txt').map((line) => {
    const chunk = JSON.parse(line) as { choices: Array<{ delta?: { content?: unknown } }>; usage?: Usage | null };
    const content = chunk.choices[0]?.delta?.content;
    if (isRecord(chunk.usage)) streamTokens = chunk.usage.completion_tokens;
    return { line, text: typeof content === 'string' && content !== '' ? content : undefined, usage: isRecord(chunk.usage) };
  });
  const streamText = chunks.map((chunk) => chunk.text ?? '').join('');
  recording = { completion, chunks, model: String(completion.model), streamText, streamTokens };
  return recording;
}

interface OpenAIError {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

const INDENT = 2;
const jsonHeaders = (context: AnswerContext) => ({ 'content-type': 'application/json', 'x-request-id': context.requestId });

/** OpenAI's error body, its fields in OpenAI's order. */
function errorBody(message: string, detail: Partial<Omit<OpenAIError, 'message'>> = {}): { error: OpenAIError } {
  return { error: { message, type: detail.type ?? 'invalid_request_error', param: detail.param ?? null, code: detail.code ?? null } };
}

function error(status: number, context: AnswerContext, message: string, detail?: Partial<Omit<OpenAIError, 'message'>>): MockAnswer {
  return jsonAnswer(status, errorBody(message, detail), jsonHeaders(context), INDENT);
}

/**
 * How OpenAI echoes a wrong key: its first 8 and last 4 characters around asterisks (`sk-proj-****…abcd`). byokit
 * must scrub this echo: "sk-proj-" alone is an 8-character piece of the key.
 */
function maskOpenAIKey(key: string): string {
  if (key.length <= 12) return `${'*'.repeat(Math.max(key.length - 4, 0))}${key.slice(-4)}`;
  return `${key.slice(0, 8)}${'*'.repeat(key.length - 12)}${key.slice(-4)}`;
}

const incorrectKey = (key: string) =>
  `Incorrect API key provided: ${maskOpenAIKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`;

const SERVER_ERROR = 'The server had an error while processing your request. Sorry about that!';

/** The error body OpenAI sends with `status` (400 is a recorded one). */
function statusErrorBody(status: number, request: MockRequest): unknown {
  const model = isRecord(request.body) && hasString(request.body, 'model') ? String(request.body.model) : 'gpt-4.1-nano';
  switch (status) {
    case 400:
      return fixtureJson('openai/reasoning-model-legacy-parameter-error.json');
    case 401:
      return errorBody(incorrectKey(request.key ?? ''), { code: 'invalid_api_key' });
    case 403:
      return errorBody(`Project does not have access to model \`${model}\``, { code: 'model_not_found' });
    case 404:
      return errorBody(`The model \`${model}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
    case 429:
      return errorBody(
        `Rate limit reached for ${model} in organization org-mock on requests per min (RPM): Limit 500, Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits to learn more.`,
        { type: 'requests', code: 'rate_limit_exceeded' },
      );
    case 503:
      return errorBody('The engine is currently overloaded, please try again later.', { type: 'server_error' });
    default:
      return status < 500 ? errorBody('Invalid request.') : errorBody(SERVER_ERROR, { type: 'server_error' });
  }
}

/** OpenAI's reasoning models of the o-series and the GPT-5 family (gpt-5-chat-latest is a chat model). */
const REASONING_MODEL = /^(?:o\d|gpt-5(?!-chat))/;

/**
 * A sampling setting a model takes no value of, as OpenAI words it: the o-series and GPT-5 refuse any temperature or
 * top_p but the default 1 and any stop ("Only the default (1) value is supported", "'stop' is not supported with this
 * model": diffbot/code-gpt-docs#445, huggingface/smolagents#1671), GPT-6 any temperature or top_p
 * (OpenGradient/tee-gateway#154).
 */
function refusedForModel(body: Record<string, unknown>): { message: string; param: string; code: string } | undefined {
  const model = String(body.model);
  const unsupported = (param: string) => ({
    message: `Unsupported parameter: '${param}' is not supported with this model.`,
    param,
    code: 'unsupported_parameter',
  });
  if (REASONING_MODEL.test(model)) {
    for (const param of ['temperature', 'top_p']) {
      const value = body[param];
      if (value === undefined || value === null || value === 1) continue;
      const message = `Unsupported value: '${param}' does not support ${String(value)} with this model. Only the default (1) value is supported.`;
      return { message, param, code: 'unsupported_value' };
    }
    if (body.stop !== undefined && body.stop !== null) return unsupported('stop');
  }
  if (model.startsWith('gpt-6')) {
    for (const param of ['temperature', 'top_p']) if (body[param] !== undefined && body[param] !== null) return unsupported(param);
  }
  return undefined;
}

/**
 * A setting OpenAI refuses before generating (platform.openai.com/docs/api-reference/chat/create: temperature 0–2,
 * a token limit ≥ 1, `stop` up to 4 sequences), worded as its parameter validation words it (continuedev/continue#2461
 * quotes the stop one).
 */
function refusedSetting(body: Record<string, unknown>): { message: string; param: string; code: string } | undefined {
  const outside = (param: string, value: number, kind: 'decimal' | 'integer', min: number, max: number) => {
    if (value > max) {
      const message = `Invalid '${param}': ${kind} above maximum value. Expected a value <= ${max}, but got ${value} instead.`;
      return { message, param, code: `${kind}_above_max_value` };
    }
    if (value < min) {
      const message = `Invalid '${param}': ${kind} below minimum value. Expected a value >= ${min}, but got ${value} instead.`;
      return { message, param, code: `${kind}_below_min_value` };
    }
    return undefined;
  };
  if (typeof body.temperature === 'number') {
    const refused = outside('temperature', body.temperature, 'decimal', 0, 2);
    if (refused !== undefined) return refused;
  }
  for (const param of ['max_completion_tokens', 'max_tokens']) {
    const value = body[param];
    if (typeof value === 'number') {
      const refused = outside(param, value, 'integer', 1, Infinity);
      if (refused !== undefined) return refused;
    }
  }
  if (Array.isArray(body.stop) && body.stop.length > 4) {
    const message = `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${body.stop.length} instead.`;
    return { message, param: 'stop', code: 'array_above_max_length' };
  }
  return refusedForModel(body);
}

const completions: EndpointHandler = (request, context) => {
  const body = request.body;
  if (!isRecord(body)) {
    return error(
      400,
      context,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
    );
  }
  if (!hasString(body, 'model')) return error(400, context, 'you must provide a model parameter');
  if (body.messages === undefined) {
    return error(400, context, "Missing required parameter: 'messages'.", { param: 'messages', code: 'missing_required_parameter' });
  }
  const refused = refusedSetting(body);
  if (refused !== undefined) return error(400, context, refused.message, { param: refused.param, code: refused.code });
  const model = String(body.model);
  const { completion, model: recordedModel } = recorded();
  // `max_tokens` is the older name; reasoning models take only `max_completion_tokens`.
  const limits: Limits = { maxTokens: tokenLimit(body.max_completion_tokens, body.max_tokens), stop: stopSequences(body.stop) };
  if (body.stream !== true) return jsonAnswer(200, { ...endedCompletion(completion, limits), model }, jsonHeaders(context), INDENT);
  return stream(body, limits, model, recordedModel, context);
};

/** A stop sequence ends the answer as `stop` (OpenAI does not say which one); the token limit as `length`. */
const finishReason = (ending: Ending) => (ending.reason === 'max_tokens' ? 'length' : 'stop');

function endedUsage(usage: Usage, ending: Ending): Usage {
  return { ...usage, completion_tokens: ending.outputTokens, total_tokens: usage.prompt_tokens + ending.outputTokens };
}

/** The recorded completion, ended where the request's token limit or `stop` end it. */
function endedCompletion(completion: Record<string, unknown>, limits: Limits): Record<string, unknown> {
  const [choice] = completion.choices as Array<{ message: { content: string }; finish_reason: string }>;
  const usage = completion.usage as Usage;
  const text = choice!.message.content;
  const ending = endingOf(text, text.length, usage.completion_tokens, limits);
  if (ending === undefined) return completion;
  const message = { ...choice!.message, content: text.slice(0, ending.keepChars) };
  return { ...completion, choices: [{ ...choice, message, finish_reason: finishReason(ending) }], usage: endedUsage(usage, ending) };
}

/** The stream's text cut at `ending`, its finish chunk saying why and its usage chunk counting what was written. */
function endedChunks(chunks: RecordedChunk[], ending: Ending): RecordedChunk[] {
  type Chunk = { choices: Array<{ delta: { content?: string }; finish_reason: string | null }>; usage: Usage | null };
  const cut = cutTextEvents(
    chunks,
    (chunk) => chunk.text,
    (chunk, text) => {
      const parsed = JSON.parse(chunk.line) as Chunk;
      parsed.choices[0]!.delta.content = text;
      return { ...chunk, line: JSON.stringify(parsed), text };
    },
    ending.keepChars,
  );
  return cut.map((chunk) => {
    const parsed = JSON.parse(chunk.line) as Chunk;
    const choice = parsed.choices[0];
    if (choice?.finish_reason != null) choice.finish_reason = finishReason(ending);
    else if (parsed.usage !== null) parsed.usage = endedUsage(parsed.usage, ending);
    else return chunk;
    return { ...chunk, line: JSON.stringify(parsed) };
  });
}

function stream(body: Record<string, unknown>, limits: Limits, model: string, recordedModel: string, context: AnswerContext): MockAnswer {
  // Without `stream_options.include_usage` OpenAI sends neither the usage chunk nor `"usage":null` in the others
  // (platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options).
  const includeUsage = isRecord(body.stream_options) && body.stream_options.include_usage === true;
  const isText = (chunk: RecordedChunk) => chunk.text !== undefined;
  const { chunks: recordedChunks, streamText, streamTokens } = recorded();
  let chunks = repeatTextRun(
    recordedChunks.filter((chunk) => includeUsage || !chunk.usage),
    isText,
    context.repeatChunks,
  );
  const ending = endingOf(chunks.map((chunk) => chunk.text ?? '').join(''), streamText.length, streamTokens, limits);
  if (ending !== undefined) chunks = endedChunks(chunks, ending);
  const streamError = context.takeStreamError();
  if (streamError) chunks = throughFirstText(chunks, isText);
  const events = chunks.map((chunk) => {
    const line = includeUsage ? chunk.line : chunk.line.replace(',"usage":null', '');
    return sseEvent(replaceStringField(line, 'model', recordedModel, model));
  });
  // An error after HTTP 200 comes as a `data:` event holding `{"error": …}`, and no [DONE] follows.
  events.push(streamError ? sseEvent(JSON.stringify(errorBody(SERVER_ERROR, { type: 'server_error' }))) : sseEvent('[DONE]'));
  return {
    type: 'stream',
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': context.requestId },
    events,
    // The error event or [DONE] last.
    carriesText: [...chunks.map(isText), false],
    cut: false,
  };
}

/** A short list in the shape of `GET /v1/models` (platform.openai.com/docs/api-reference/models/list). */
const MODELS = [
  { id: 'gpt-4.1-nano', object: 'model', created: 1744321707, owned_by: 'system' },
  { id: 'gpt-4.1-nano-2025-04-14', object: 'model', created: 1744321025, owned_by: 'system' },
  { id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' },
];

const models: EndpointHandler = (_request, context) => jsonAnswer(200, { object: 'list', data: MODELS }, jsonHeaders(context), INDENT);

function readKey(headers: MockRequest['headers']): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(headerValue(headers, 'authorization') ?? '');
  return match?.[1];
}

/** The OpenAI part of the mock: `POST /v1/chat/completions`, `GET /v1/models` (when not Anthropic's). */
export const openaiMock: ProviderMock = {
  provider: 'openai',
  route(method, path) {
    if (method === 'POST' && path === '/v1/chat/completions') return completions;
    if (method === 'GET' && path === '/v1/models') return models;
    return undefined;
  },
  readKey,
  guard(request, context) {
    if (request.key !== undefined) {
      return context.isRejected(request.key) ? error(401, context, incorrectKey(request.key), { code: 'invalid_api_key' }) : undefined;
    }
    if (headerValue(request.headers, 'authorization') !== undefined)
      return error(401, context, 'Missing bearer or basic authentication in header');
    return error(
      401,
      context,
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
    );
  },
  failure: (failure, request, context) =>
    failureAnswer(failure, () => statusErrorBody(failure.status, request), jsonHeaders(context), INDENT),
};
