// The Anthropic Messages API, as the mock speaks it: https://docs.anthropic.com/en/api/messages,
// errors per https://docs.anthropic.com/en/api/errors (compact JSON with a top-level `request_id`).
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

interface RecordedEvent {
  /** The event's `type`, which Anthropic also sends as the SSE event name. */
  type: string;
  line: string;
  /** The text of a `text_delta`, else `undefined`. */
  text: string | undefined;
}

interface Recording {
  message: Record<string, unknown>;
  events: RecordedEvent[];
  /** The model in the recordings, replaced by the requested one. */
  model: string;
  /** The stream's whole text and its output tokens (from its `message_delta`). */
  streamText: string;
  streamTokens: number;
}

let recording: Recording | undefined;

function recorded(): Recording {
  if (recording !== undefined) return recording;
  const message = fixtureJson('anthropic/anthropic-text.json') as Record<string, unknown>;
  let streamTokens = 0;
  const events = fixtureChunks('anthropic/anthropic-text.chunks.txt').map((line) => {
    const event = JSON.parse(line) as { type: string; delta?: { type?: string; text?: string }; usage?: { output_tokens?: number } };
    if (event.type === 'message_delta') streamTokens = event.usage?.output_tokens ?? 0;
    const text = event.type === 'content_block_delta' && event.delta?.type === 'text_delta' ? event.delta.text : undefined;
    return { type: event.type, line, text };
  });
  const streamText = events.map((event) => event.text ?? '').join('');
  recording = { message, events, model: String(message.model), streamText, streamTokens };
  return recording;
}

/** Status → the error type and a message as Anthropic words them. */
const ERRORS: Record<number, [type: string, message: string]> = {
  400: ['invalid_request_error', 'Your request was malformed.'],
  401: ['authentication_error', 'invalid x-api-key'],
  403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
  404: ['not_found_error', 'The requested resource could not be found.'],
  413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
  429: ['rate_limit_error', 'This request would exceed the rate limit for your organization. Please try again later.'],
  500: ['api_error', 'Internal server error'],
  529: ['overloaded_error', 'Overloaded'],
};

function errorBody(status: number, requestId: string, message?: string): unknown {
  const [type, defaultMessage] = ERRORS[status] ?? (status < 500 ? ERRORS[400]! : ERRORS[500]!);
  return { type: 'error', error: { type, message: message ?? defaultMessage }, request_id: requestId };
}

const jsonHeaders = (context: AnswerContext) => ({ 'content-type': 'application/json', 'request-id': context.requestId });

function error(status: number, context: AnswerContext, message?: string): MockAnswer {
  return jsonAnswer(status, errorBody(status, context.requestId, message), jsonHeaders(context));
}

/** A setting Anthropic refuses before generating (docs.anthropic.com/en/api/messages: temperature 0–1, max_tokens ≥ 1). */
function refusedSetting(body: Record<string, unknown>): string | undefined {
  const { max_tokens: maxTokens, temperature } = body;
  if (typeof maxTokens === 'number' && maxTokens < 1) return 'max_tokens: Input should be greater than or equal to 1';
  // Claude Opus 4.7 and 4.8, and Claude 5, took the sampling parameters away (Anthropic's "What's new in Claude 4.7":
  // "Sampling parameters removed"; rocketride-org/rocketride-server#1194 quotes the 400).
  if (/^claude-(?:opus-4-[78]|(?:opus|sonnet|haiku)-5)/.test(String(body.model))) {
    for (const parameter of ['temperature', 'top_p', 'top_k']) {
      if (body[parameter] !== undefined) return `\`${parameter}\` is deprecated for this model.`;
    }
  }
  if (typeof temperature !== 'number') return undefined;
  if (temperature > 1) return 'temperature: Input should be less than or equal to 1';
  if (temperature < 0) return 'temperature: Input should be greater than or equal to 0';
  // Claude 3 models took both; every later one refuses them together.
  if (body.top_p !== undefined && !String(body.model).startsWith('claude-3')) {
    return '`temperature` and `top_p` cannot both be specified for this model. Please use only one.';
  }
  return undefined;
}

/** The texts of a message's content: a string, or its `text` blocks. */
function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return content
    .filter((block): block is { type: 'text'; text: string } => isRecord(block) && block.type === 'text' && typeof block.text === 'string')
    .map((block) => block.text);
}

/** What Anthropic refuses in the messages' text: blank text, and a final assistant turn (a prefill) ending in whitespace. */
function refusedMessages(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (const message of messages) {
    if (isRecord(message) && textsOf(message.content).some((text) => text.trim() === '')) {
      return 'messages: text content blocks must contain non-whitespace text';
    }
  }
  const last: unknown = messages.at(-1);
  if (isRecord(last) && last.role === 'assistant') {
    const text = textsOf(last.content).at(-1);
    if (text !== undefined && text.trimEnd() !== text) return 'messages: final assistant content cannot end with trailing whitespace';
  }
  return undefined;
}

const messages: EndpointHandler = (request, context) => {
  const body = request.body;
  if (!isRecord(body)) return error(400, context, 'There was an error parsing the body of your request: it is not a JSON object.');
  for (const field of ['model', 'max_tokens', 'messages']) {
    if (body[field] === undefined) return error(400, context, `${field}: Field required`);
  }
  if (!hasString(body, 'model')) return error(400, context, 'model: Input should be a valid string');
  const refused = refusedSetting(body) ?? refusedMessages(body.messages);
  if (refused !== undefined) return error(400, context, refused);
  const model = String(body.model);
  const limits: Limits = { maxTokens: tokenLimit(body.max_tokens), stop: stopSequences(body.stop_sequences) };
  const { message, events: recordedEvents, model: recordedModel, streamText, streamTokens } = recorded();
  if (body.stream !== true) return jsonAnswer(200, { ...endedMessage(message, limits), model }, jsonHeaders(context));

  const isText = (event: RecordedEvent) => event.text !== undefined;
  let events = repeatTextRun(recordedEvents, isText, context.repeatChunks);
  const sentText = events.map((event) => event.text ?? '').join('');
  const ending = endingOf(sentText, streamText.length, streamTokens, limits);
  if (ending !== undefined) events = endedEvents(events, ending);
  const streamError = context.takeStreamError();
  if (streamError) events = throughFirstText(events, isText);
  const wire = events.map((event) => sseEvent(replaceStringField(event.line, 'model', recordedModel, model), event.type));
  // An error after HTTP 200 comes as an `error` event (docs.anthropic.com/en/docs/build-with-claude/streaming#error-events).
  if (streamError)
    wire.push(sseEvent(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), 'error'));
  return {
    type: 'stream',
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': context.requestId },
    events: wire,
    carriesText: [...events.map(isText), ...(streamError ? [false] : [])],
    cut: false,
  };
};

/** Where the stop reason and the output tokens go: `stop_sequence` names the sequence that stopped it. */
function stopFields(ending: Ending): { stop_reason: string; stop_sequence: string | null } {
  return { stop_reason: ending.reason, stop_sequence: ending.reason === 'stop_sequence' ? ending.sequence : null };
}

/** The recorded message, ended where the request's `max_tokens` or `stop_sequences` end it. */
function endedMessage(message: Record<string, unknown>, limits: Limits): Record<string, unknown> {
  const [block] = message.content as Array<{ type: string; text: string }>;
  const usage = message.usage as Record<string, unknown>;
  const ending = endingOf(block!.text, block!.text.length, Number(usage.output_tokens), limits);
  if (ending === undefined) return message;
  return {
    ...message,
    content: [{ ...block, text: block!.text.slice(0, ending.keepChars) }],
    ...stopFields(ending),
    usage: { ...usage, output_tokens: ending.outputTokens },
  };
}

/** The stream's text cut at `ending`, and its `message_delta` saying why, with the output tokens written. */
function endedEvents(events: RecordedEvent[], ending: Ending): RecordedEvent[] {
  const cut = cutTextEvents(
    events,
    (event) => event.text,
    (event, text) => {
      const parsed = JSON.parse(event.line) as { delta: { text: string } };
      parsed.delta.text = text;
      return { ...event, line: JSON.stringify(parsed), text };
    },
    ending.keepChars,
  );
  return cut.map((event) => {
    if (event.type !== 'message_delta') return event;
    const parsed = JSON.parse(event.line) as { delta: Record<string, unknown>; usage: Record<string, unknown> };
    parsed.delta = { ...parsed.delta, ...stopFields(ending) };
    parsed.usage = { ...parsed.usage, output_tokens: ending.outputTokens };
    return { ...event, line: JSON.stringify(parsed) };
  });
}

/** A short list in the shape of `GET /v1/models` (docs.anthropic.com/en/api/models-list). */
const MODELS = [
  { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { type: 'model', id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-15T00:00:00Z' },
];

const models: EndpointHandler = (_request, context) =>
  jsonAnswer(200, { data: MODELS, has_more: false, first_id: MODELS[0]!.id, last_id: MODELS.at(-1)!.id }, jsonHeaders(context));

function readKey(headers: MockRequest['headers']): string | undefined {
  return headerValue(headers, 'x-api-key') || undefined;
}

/** The Anthropic part of the mock: `POST /v1/messages`, `GET /v1/models` (when sent with Anthropic's headers). */
export const anthropicMock: ProviderMock = {
  provider: 'anthropic',
  route(method, path, headers) {
    if (method === 'POST' && path === '/v1/messages') return messages;
    // OpenAI has the same path: Anthropic's requests are the ones with its key or version header.
    const anthropicHeaders = headers['x-api-key'] !== undefined || headers['anthropic-version'] !== undefined;
    if (method === 'GET' && path === '/v1/models' && anthropicHeaders) return models;
    return undefined;
  },
  readKey,
  guard(request, context) {
    if (request.key === undefined) return error(401, context, 'x-api-key header is required');
    if (context.isRejected(request.key)) return error(401, context, 'invalid x-api-key');
    if (headerValue(request.headers, 'anthropic-version') === undefined)
      return error(400, context, 'anthropic-version: header is required');
    return undefined;
  },
  failure: (failure, _request, context) => failureAnswer(failure, () => errorBody(failure.status, context.requestId), jsonHeaders(context)),
};
