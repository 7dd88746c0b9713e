// The Gemini API, as the mock speaks it: https://ai.google.dev/api/generate-content. Google pretty-prints its
// JSON bodies (two spaces); errors are google.rpc.Status objects: `{ "error": { code, message, status, details? } }`.
import { fixtureChunks, fixtureJson } from '../../providers/fixtures.js';
import type { AnswerContext, EndpointHandler, MockAnswer, MockRequest, ProviderMock } from './types.js';
import {
  cutTextEvents,
  endingOf,
  failureAnswer,
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
}

interface UsageMetadata {
  promptTokenCount: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  totalTokenCount: number;
}

interface Recording {
  response: Record<string, unknown>;
  chunks: RecordedChunk[];
  /** The `modelVersion` in the recordings, replaced by the requested model. */
  model: string;
  /** The stream's whole text and its final usage. */
  streamText: string;
  streamUsage: UsageMetadata;
}

let recording: Recording | undefined;

function recorded(): Recording {
  if (recording !== undefined) return recording;
  const response = fixtureJson('google/google-text.json') as Record<string, unknown>;
  let streamUsage: UsageMetadata | undefined;
  const chunks = fixtureChunks('google/google-text.chunks.txt').map((line) => {
    const chunk = JSON.parse(line) as {
      candidates?: Array<{ content?: { parts?: Array<{ text?: unknown }> } }>;
      usageMetadata?: UsageMetadata;
    };
    streamUsage = chunk.usageMetadata ?? streamUsage;
    const parts = chunk.candidates?.[0]?.content?.parts ?? [];
    const text = parts.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
    return { line, text: text === '' ? undefined : text };
  });
  const streamText = chunks.map((chunk) => chunk.text ?? '').join('');
  recording = { response, chunks, model: String(response.modelVersion), streamText, streamUsage: streamUsage! };
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

/**
 * Where Gemini would have stopped writing the recorded answer. `maxOutputTokens` covers the thinking and the answer
 * together (thinking first): a limit the thinking uses up leaves no text at all, finishReason MAX_TOKENS
 * (googleapis/python-genai#811, #2062). A stop sequence ends the text before it with finishReason STOP.
 */
interface GoogleEnding {
  finishReason: 'MAX_TOKENS' | 'STOP';
  keepChars: number;
  usage: UsageMetadata;
}

function googleEnding(text: string, recordedLength: number, usage: UsageMetadata, limits: Limits): GoogleEnding | undefined {
  const thoughts = usage.thoughtsTokenCount ?? 0;
  const withCounts = (candidates: number | undefined, thinking: number): UsageMetadata => {
    const { candidatesTokenCount: _candidates, ...rest } = usage;
    return {
      ...rest,
      ...(candidates !== undefined && { candidatesTokenCount: candidates }),
      ...(usage.thoughtsTokenCount !== undefined && { thoughtsTokenCount: thinking }),
      totalTokenCount: usage.promptTokenCount + (candidates ?? 0) + thinking,
    };
  };
  if (limits.maxTokens !== undefined && usage.thoughtsTokenCount !== undefined && limits.maxTokens <= thoughts) {
    return { finishReason: 'MAX_TOKENS', keepChars: 0, usage: withCounts(undefined, limits.maxTokens) };
  }
  const maxTokens = limits.maxTokens === undefined ? undefined : limits.maxTokens - thoughts;
  const ending = endingOf(text, recordedLength, usage.candidatesTokenCount ?? 0, { maxTokens, stop: limits.stop });
  if (ending === undefined) return undefined;
  const finishReason = ending.reason === 'max_tokens' ? 'MAX_TOKENS' : 'STOP';
  return { finishReason, keepChars: ending.keepChars, usage: withCounts(ending.outputTokens, thoughts) };
}

type Candidate = { content: { parts?: Array<{ text?: string }>; role: string }; finishReason?: string };

/** The recorded response, ended where the request's `maxOutputTokens` or `stopSequences` end it. */
function endedResponse(response: Record<string, unknown>, limits: Limits): Record<string, unknown> {
  const [candidate] = response.candidates as Candidate[];
  const part = candidate!.content.parts![0]!;
  const usage = response.usageMetadata as UsageMetadata;
  const ending = googleEnding(part.text!, part.text!.length, usage, limits);
  if (ending === undefined) return response;
  const text = part.text!.slice(0, ending.keepChars);
  // Nothing written: the candidate comes without parts.
  const content = text === '' ? { role: candidate!.content.role } : { ...candidate!.content, parts: [{ ...part, text }] };
  return { ...response, candidates: [{ ...candidate, content, finishReason: ending.finishReason }], usageMetadata: ending.usage };
}

/** The stream's text cut at `ending`; the finishing chunk says why, and no chunk counts more than was written. */
function endedChunks(chunks: RecordedChunk[], ending: GoogleEnding): RecordedChunk[] {
  type Chunk = { candidates: Candidate[]; usageMetadata: UsageMetadata };
  const cut = cutTextEvents(
    chunks,
    (chunk) => chunk.text,
    (chunk, text) => {
      const parsed = JSON.parse(chunk.line) as Chunk;
      parsed.candidates[0]!.content.parts = [{ text }];
      return { line: JSON.stringify(parsed), text };
    },
    ending.keepChars,
  );
  const final = ending.usage;
  return cut.map((chunk) => {
    const parsed = JSON.parse(chunk.line) as Chunk;
    const candidate = parsed.candidates[0]!;
    if (candidate.finishReason !== undefined) {
      candidate.finishReason = ending.finishReason;
      parsed.usageMetadata = final;
    } else {
      const usage = parsed.usageMetadata;
      const candidates = Math.min(usage.candidatesTokenCount ?? 0, final.candidatesTokenCount ?? 0);
      const thoughts = Math.min(usage.thoughtsTokenCount ?? 0, final.thoughtsTokenCount ?? 0);
      parsed.usageMetadata = {
        ...usage,
        candidatesTokenCount: candidates,
        ...(usage.thoughtsTokenCount !== undefined && { thoughtsTokenCount: thoughts }),
        totalTokenCount: usage.promptTokenCount + candidates + thoughts,
      };
    }
    return { ...chunk, line: JSON.stringify(parsed) };
  });
}

/** Where the first empty text part is (`contents[i].parts[j]`): Gemini refuses a part with nothing in it. */
function emptyTextPart(contents: unknown): string | undefined {
  if (!Array.isArray(contents)) return undefined;
  for (const [i, content] of contents.entries()) {
    const parts: unknown = isRecord(content) ? content.parts : undefined;
    if (!Array.isArray(parts)) continue;
    const j = parts.findIndex((part) => isRecord(part) && part.text === '' && Object.keys(part).length === 1);
    if (j >= 0) return `contents[${i}].parts[${j}]`;
  }
  return undefined;
}

function generate(request: MockRequest, context: AnswerContext, model: string, stream: boolean): MockAnswer {
  const body = request.body;
  if (!isRecord(body)) return error(400, 'Invalid JSON payload received. Unexpected token.');
  if (body.contents === undefined) return error(400, '* GenerateContentRequest.contents: contents is not specified\n');
  const emptyPart = emptyTextPart(body.contents);
  if (emptyPart !== undefined) {
    return error(400, `* GenerateContentRequest.${emptyPart}.data: required oneof field 'data' must have one initialized field\n`);
  }
  // Gemini wants the user to speak first: a history whose first turn is the model's is refused
  // (NousResearch/hermes-agent#55427; @google/genai's chats.create: history "should start with a 'user' message").
  if (Array.isArray(body.contents) && isRecord(body.contents[0]) && body.contents[0].role === 'model') {
    return error(400, 'Please ensure that multiturn requests alternate between user and model.');
  }
  // Gemma models, served by the same API, take no system instruction (0xPlaygrounds/rig#788).
  if (model.startsWith('gemma-') && body.systemInstruction !== undefined) {
    return error(400, `Developer instruction is not enabled for models/${model}`);
  }
  const config = isRecord(body.generationConfig) ? body.generationConfig : {};
  // ai.google.dev/api/generate-content#generationconfig: temperature from 0 to 2 on current models.
  if (typeof config.temperature === 'number' && (config.temperature < 0 || config.temperature > 2)) {
    return error(
      400,
      `Unable to submit request because it has a temperature value of ${config.temperature} but the supported range is from 0 (inclusive) to 2.0001 (exclusive). Update the value and try again.`,
    );
  }
  // Up to 5 stop sequences, and not an empty list (ai.google.dev/api/generate-content#generationconfig; the wording a
  // Gemini 2.5 Flash user met, continuedev/continue#7849; an empty list, binary-husky/gpt_academic#2092).
  if (Array.isArray(config.stopSequences) && (config.stopSequences.length === 0 || config.stopSequences.length > 5)) {
    return error(
      400,
      `Unable to submit request because it has a stopSequences value of ${config.stopSequences.length} but the supported range is from 1 (inclusive) to 6 (exclusive). Update the value and try again.`,
    );
  }
  const limits: Limits = { maxTokens: tokenLimit(config.maxOutputTokens), stop: stopSequences(config.stopSequences) };
  const { response, chunks: recordedChunks, model: recordedModel, streamText, streamUsage } = recorded();
  if (!stream) return jsonAnswer(200, { ...endedResponse(response, limits), modelVersion: model }, JSON_HEADERS, INDENT);
  const isText = (chunk: RecordedChunk) => chunk.text !== undefined;
  let chunks = repeatTextRun(recordedChunks, isText, context.repeatChunks);
  const ending = googleEnding(chunks.map((chunk) => chunk.text ?? '').join(''), streamText.length, streamUsage, limits);
  if (ending !== undefined) chunks = endedChunks(chunks, ending);
  const lines = (events: RecordedChunk[]) => events.map((chunk) => replaceStringField(chunk.line, 'modelVersion', recordedModel, model));
  // Without `alt=sse` the stream is one JSON array (kept for completeness; byokit asks for SSE).
  if (request.query.alt !== 'sse') return { type: 'json', status: 200, headers: JSON_HEADERS, body: `[${lines(chunks).join(',\r\n')}]` };

  let events = chunks;
  const streamError = context.takeStreamError();
  if (streamError) events = throughFirstText(events, isText);
  const wire = lines(events).map((line) => sseEvent(line));
  // Gemini has no end-of-stream marker and no error event type. Seen failing mid-stream: an `{"error": …}` object
  // as a data event, then the connection ends without a finishReason ever sent. The mock does both: cut.
  if (streamError) wire.push(sseEvent(JSON.stringify(errorBody(503))));
  return {
    type: 'stream',
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
    events: wire,
    carriesText: [...events.map(isText), ...(streamError ? [false] : [])],
    cut: streamError,
  };
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
