// The Gemini API, as the mock speaks it: https://ai.google.dev/api/generate-content. Google pretty-prints its
// JSON bodies (two spaces); errors are google.rpc.Status objects: `{ "error": { code, message, status, details? } }`.
import { fixtureChunks, fixtureJson } from '../../providers/fixtures.js';
import type { AnswerContext, EndpointHandler, MockAnswer, MockRequest, ProviderMock } from './types.js';
import { failureAnswer, headerValue, isRecord, jsonAnswer, repeatTextRun, replaceStringField, sseEvent, throughFirstText } from './wire.js';

interface RecordedChunk {
  line: string;
  text: boolean;
}

interface Recording {
  response: Record<string, unknown>;
  chunks: RecordedChunk[];
  /** The `modelVersion` in the recordings, replaced by the requested model. */
  model: string;
}

let recording: Recording | undefined;

function recorded(): Recording {
  if (recording !== undefined) return recording;
  const response = fixtureJson('google/google-text.json') as Record<string, unknown>;
  const chunks = fixtureChunks('google/google-text.chunks.txt').map((line) => {
    const chunk = JSON.parse(line) as { candidates?: Array<{ content?: { parts?: Array<{ text?: unknown }> } }> };
    const parts = chunk.candidates?.[0]?.content?.parts ?? [];
    return { line, text: parts.some((part) => typeof part.text === 'string' && part.text !== '') };
  });
  recording = { response, chunks, model: String(response.modelVersion) };
  return recording;
}

const INDENT = 2;
const JSON_HEADERS = { 'content-type': 'application/json; charset=UTF-8' };

/** Status → the google.rpc.Code name and a message as the Gemini API words it (429 is a recorded body). */
const STATUSES: Record<number, [status: string, message: string]> = {
  400: ['INVALID_ARGUMENT', 'Request contains an invalid argument.'],
  401: [
    'UNAUTHENTICATED',
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
  ],
  403: ['PERMISSION_DENIED', 'The caller does not have permission'],
  404: ['NOT_FOUND', 'Requested entity was not found.'],
  500: [
    'INTERNAL',
    'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting',
  ],
  503: ['UNAVAILABLE', 'The model is overloaded. Please try again later.'],
  504: ['DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'],
};

function errorBody(code: number, message?: string, details?: unknown[]): unknown {
  const [status, defaultMessage] = STATUSES[code] ?? (code < 500 ? STATUSES[400]! : STATUSES[500]!);
  return { error: { code, message: message ?? defaultMessage, status, ...(details === undefined ? {} : { details }) } };
}

function error(code: number, message?: string, details?: unknown[]): MockAnswer {
  return jsonAnswer(code, errorBody(code, message, details), JSON_HEADERS, INDENT);
}

/** What Google answers a key it does not know (its message is repeated in a LocalizedMessage). */
function invalidKey(): MockAnswer {
  const message = 'API key not valid. Please pass a valid API key.';
  return error(400, message, [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
  ]);
}

function generate(request: MockRequest, context: AnswerContext, model: string, stream: boolean): MockAnswer {
  const body = request.body;
  if (!isRecord(body)) return error(400, 'Invalid JSON payload received. Unexpected token.');
  if (body.contents === undefined) return error(400, '* GenerateContentRequest.contents: contents is not specified\n');
  const { response, chunks, model: recordedModel } = recorded();
  if (!stream) return jsonAnswer(200, { ...response, modelVersion: model }, JSON_HEADERS, INDENT);
  const lines = (events: RecordedChunk[]) => events.map((chunk) => replaceStringField(chunk.line, 'modelVersion', recordedModel, model));
  // Without `alt=sse` the stream is one JSON array (kept for completeness; byokit asks for SSE).
  if (request.query.alt !== 'sse') return { type: 'json', status: 200, headers: JSON_HEADERS, body: `[${lines(chunks).join(',\r\n')}]` };

  const isText = (chunk: RecordedChunk) => chunk.text;
  let events = repeatTextRun(chunks, isText, context.repeatChunks);
  const streamError = context.takeStreamError();
  if (streamError) events = throughFirstText(events, isText);
  const wire = lines(events).map((line) => sseEvent(line));
  // Gemini has no end-of-stream marker and no error event type. Seen failing mid-stream: an `{"error": …}` object
  // as a data event, then the connection ends without a finishReason ever sent. The mock does both: cut.
  if (streamError) wire.push(sseEvent(JSON.stringify(errorBody(503))));
  return { type: 'stream', headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }, events: wire, cut: streamError };
}

/** A short list in the shape of `GET /v1beta/models` (ai.google.dev/api/models#method:-models.list). */
const MODELS = [
  {
    name: 'models/gemini-3-pro-preview',
    version: '3-pro-preview-11-2025',
    displayName: 'Gemini 3 Pro Preview',
    description: 'Gemini 3 Pro Preview',
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
    thinking: true,
  },
  {
    name: 'models/gemini-2.5-flash',
    version: '001',
    displayName: 'Gemini 2.5 Flash',
    description:
      'Stable version of Gemini 2.5 Flash, our mid-size multimodal model that supports up to 1 million tokens, released in June of 2025.',
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    supportedGenerationMethods: ['generateContent', 'countTokens', 'createCachedContent', 'batchGenerateContent'],
    temperature: 1,
    topP: 0.95,
    topK: 64,
    maxTemperature: 2,
    thinking: true,
  },
];

const models: EndpointHandler = () => jsonAnswer(200, { models: MODELS }, JSON_HEADERS, INDENT);

const GENERATE_PATH = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;

/** The Google part of the mock: `:generateContent`, `:streamGenerateContent?alt=sse`, `GET /v1beta/models`. */
export const googleMock: ProviderMock = {
  provider: 'google',
  route(method, path) {
    if (method === 'GET' && path === '/v1beta/models') return models;
    const match = method === 'POST' ? GENERATE_PATH.exec(path) : null;
    if (match === null) return undefined;
    const model = decodeURIComponent(match[1]!);
    const stream = match[2] === 'streamGenerateContent';
    return (request, context) => generate(request, context, model, stream);
  },
  readKey: (headers) => headerValue(headers, 'x-goog-api-key') || undefined,
  guard(request, context) {
    // Google accepts `?key=`, but byokit must never put a key in a URL (URLs end up in logs): refuse it loudly.
    if (request.query.key !== undefined) {
      return error(400, 'byokit mock: an API key in the URL (?key=) is refused; send it in the x-goog-api-key header.');
    }
    if (request.key === undefined) {
      return error(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    }
    return context.isRejected(request.key) ? invalidKey() : undefined;
  },
  failure(failure, request) {
    const model = GENERATE_PATH.exec(request.path)?.[1] ?? 'gemini-2.5-flash';
    const fallback = () => {
      if (failure.status === 429) return fixtureJson('google/google-429-retry-info.json');
      if (failure.status === 404) {
        return errorBody(
          404,
          `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`,
        );
      }
      return errorBody(failure.status);
    };
    return failureAnswer(failure, fallback, JSON_HEADERS, INDENT);
  },
};
