// A seeded fuzzer over every route of the contract (read from GET /openapi.json, so a new route without a valid
// request here fails): each request is a valid one with one to three things changed the way any client can change
// them (its body's values, its raw JSON, its method, path parameters, headers, query, caller). Whatever is sent,
// the answer is never a 5xx, an error is in its surface's shape with the answer's request id, a refusal changes
// nothing, no key comes back in an answer or a log line, and no client-sent control character reaches a log line
// raw (spec/security.md; spec/http-api.md, "Errors").
import { describe, expect, it } from 'vitest';
import { createByokit, type Byokit } from '../byokit.js';
import { createFetchHandler } from '../fetch/fetch-handler.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS } from '../keys/providers.js';
import type { Logger, LogMethod } from '../logging/logger.js';
import { memoryStorage } from '../storage/memory-storage.js';
import { SYSTEM_OWNER, userOwner, type Storage } from '../storage/storage.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { seededRandom } from '../testing/seeded-random.js';
import { mockProvidersForFile, testKeyring } from './test-helpers.js';
import type { ByokitRequest, Principal } from './types.js';

const SEED = Number(process.env.ROUTE_FUZZ_SEED ?? 20261205);
const COUNT = Number(process.env.ROUTE_FUZZ_COUNT ?? 1000);

const user: Principal = { userId: 'fuzz-user', isAdmin: false };
const admin: Principal = { userId: 'fuzz-admin', isAdmin: true };
const CALLERS = { anonymous: null, user, admin } as const;
type Caller = keyof typeof CALLERS;

const mock = mockProvidersForFile();

/** The keys every request uses, made once: the leak check looks for each in every answer and log line. */
const KEYS = {
  userOpenAi: fakeProviderKey('openai'),
  adminAnthropic: fakeProviderKey('anthropic'),
  sentAsRequestId: fakeProviderKey('openai'),
  ANTHROPIC_API_KEY: fakeProviderKey('anthropic'),
  OPENAI_API_KEY: fakeProviderKey('openai'),
  GEMINI_API_KEY: fakeProviderKey('google'),
};

/** What a client sends, before byokit sees it. */
interface FuzzRequest {
  method: string;
  /** Path below the prefix, parameters filled in. */
  path: string;
  query: string;
  headers: Record<string, string | string[]>;
  /** Raw body text or bytes; undefined for none. */
  body?: string | Uint8Array;
  /** The JSON a route takes, when the body is still JSON: what the JSON mutations change. */
  json?: unknown;
  caller: Caller;
}

// Text any client can put anywhere a string goes: NUL, lone surrogates, RTL overrides, combining marks, CR/LF
// and ANSI escapes (log injection), zero-width characters, a long run.
const LOG_MARK = 'FORGED-LOG-LINE';
const HOSTILE_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff x',
  'x\ud83d',
  '\u202eevil\u202c',
  'e\u0301\u0301\u0301\u0301\u0301',
  '\u200b',
  '\ufeff',
  `a\r\n${LOG_MARK}`,
  `\u001b[31m${LOG_MARK}\u001b[0m`,
  'a\u2028b',
  'x'.repeat(70_000),
  'é'.repeat(3000),
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'NaN',
  '-0',
  '1e999',
  '00000000-0000-0000-0000-000000000000',
  '%00',
  '../..',
];
const HOSTILE_NUMBERS = [0, -0, -1, 1.5, 0.1, 1e-320, 1e308, -1e308, 2 ** 53 + 1, 2 ** 31, 4294967296, -2147483649, 1e21];
const HOSTILE_SHAPES: unknown[] = [null, true, false, [], [null], [[]], {}, { a: 1 }, Array(300).fill(0), [{}], nested(60)];
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < depth; level++) value = level % 2 ? { a: value } : [value];
  return value;
}

const ODD_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'TRACE',
  'CONNECT',
  'PROPFIND',
  'get',
  'Patch',
  'M-SEARCH',
  'X',
];
const CONTENT_TYPES = [
  'application/json',
  'APPLICATION/JSON',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-16',
  'application/json; charset=latin1',
  'application/json;charset="utf-8"',
  'application/json ; charset=utf-8',
  'application/json;',
  '  application/json',
  'application/json, text/plain',
  'application/problem+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  '*/*',
  '',
  'application/json\u0000',
];
const CONTENT_ENCODINGS = ['gzip', 'br', 'deflate', 'identity', 'gzip, gzip', 'x-unknown'];
const PATH_PARAMS = [
  'x',
  '.',
  '..',
  '%2e%2e',
  '%2F',
  'a%2Fb',
  '%5C',
  '%00',
  '%0d%0aX-Injected:%20yes',
  '%1b%5b31m',
  '%zz',
  '%',
  '%E0%A4%A',
  '%ED%A0%80',
  '%F0%9F%98%80',
  'x'.repeat(300),
  'x'.repeat(20_000),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '__proto__',
  'constructor',
  '%20',
  '+',
  'a;b=c',
  '%3F',
];
const QUERY_EDITS: ReadonlyArray<(query: string, random: () => number) => string> = [
  (query) => (query ? `${query}&${query.slice(1)}` : '?a=1&a=2'),
  (query) => `${query || '?'}${query ? '&' : ''}provider[]=openai&provider[]=google`,
  (query) => `${query || '?'}${query ? '&' : ''}limit=`,
  (query) => `${query || '?'}${query ? '&' : ''}limit`,
  (query) => `${query || '?'}${query ? '&' : ''}=x`,
  (query) => `${query || '?'}${query ? '&' : ''}&&&`,
  (query) => `${query}#frag`,
  () => '?',
  () => '?limit=1e3&cursor=%00',
  () => '?limit=-0',
  () => '?limit=0x10',
  () => '?limit=1.5',
  () => '?limit=9999999999999999999999',
  () => '?from=2026-02-30&to=2026-03-01',
  () => '?from=2026-01-01T00:00:00%2B99:00',
  () => '?group_by=constructor',
  () => '?user_id=' + encodeURIComponent(`a\r\n${LOG_MARK}`),
  () => '?provider=' + encodeURIComponent(`\u001b[31m${LOG_MARK}`),
  () => '?cursor=' + 'A'.repeat(5000),
  () => '?__proto__[x]=1&constructor=1',
  () => '?verify=TRUE',
  () => '?verify=true&verify=true',
  (_query, random) => `?${'a'.repeat(Math.floor(random() * 3000))}=1`,
];

/** A valid request for each operation of the OpenAPI document, by `METHOD path`. */
function validRequests(modelId: string, modelName: string): Record<string, () => Omit<FuzzRequest, 'headers' | 'caller'>> {
  const json = (value: unknown) => ({ json: value });
  return {
    'GET /openapi.json': () => ({ method: 'GET', path: '/openapi.json', query: '' }),
    'GET /users/me/api-key-status': () => ({ method: 'GET', path: '/users/me/api-key-status', query: '' }),
    'PATCH /users/me/api-key': () => ({
      method: 'PATCH',
      path: '/users/me/api-key',
      query: '',
      ...json({ openai_api_key: KEYS.userOpenAi, google_api_key: null }),
    }),
    'DELETE /users/me/api-key': () => ({ method: 'DELETE', path: '/users/me/api-key', query: '?provider=anthropic' }),
    'GET /admin/api-key-status': () => ({ method: 'GET', path: '/admin/api-key-status', query: '' }),
    'PATCH /admin/api-key': () => ({
      method: 'PATCH',
      path: '/admin/api-key',
      query: '',
      ...json({ anthropic_api_key: KEYS.adminAnthropic }),
    }),
    'DELETE /admin/api-key': () => ({ method: 'DELETE', path: '/admin/api-key', query: '?provider=google' }),
    'GET /llm-models': () => ({ method: 'GET', path: '/llm-models', query: '?is_active=true' }),
    'GET /llm-models/{id}': () => ({ method: 'GET', path: `/llm-models/${modelId}`, query: '' }),
    'POST /llm-models': () => ({
      method: 'POST',
      path: '/llm-models',
      query: '',
      ...json({
        provider: 'openai',
        model: 'fuzz-model',
        display_name: 'Fuzz',
        context_window: 1000,
        max_output_tokens: 100,
        pricing: { input_per_mtok_usd: '1', output_per_mtok_usd: '2' },
      }),
    }),
    'PATCH /llm-models/{id}': () => ({
      method: 'PATCH',
      path: `/llm-models/${modelId}`,
      query: '',
      ...json({ display_name: 'Renamed', is_active: true, pricing: { input_per_mtok_usd: '3', output_per_mtok_usd: '4' } }),
    }),
    'POST /llm/chat/completions': () => ({
      method: 'POST',
      path: '/llm/chat/completions',
      query: '',
      ...json({
        model_id: modelId,
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello!' },
        ],
        max_tokens: 20,
        temperature: 0.5,
        stream: false,
      }),
    }),
    'POST /openai/v1/chat/completions': () => ({
      method: 'POST',
      path: '/openai/v1/chat/completions',
      query: '',
      ...json({ model: modelName, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 20, stream: true }),
    }),
    'GET /openai/v1/models': () => ({ method: 'GET', path: '/openai/v1/models', query: '' }),
    'GET /openai/v1/models/{model}': () => ({ method: 'GET', path: `/openai/v1/models/${modelName}`, query: '' }),
    'GET /llm/usage/me': () => ({ method: 'GET', path: '/llm/usage/me', query: '?group_by=model' }),
    'GET /llm/usage/me/events': () => ({ method: 'GET', path: '/llm/usage/me/events', query: '?limit=5' }),
    'GET /admin/usage': () => ({ method: 'GET', path: '/admin/usage', query: '?user_id=fuzz-user&group_by=day' }),
    'GET /users/me/budget': () => ({ method: 'GET', path: '/users/me/budget', query: '' }),
    'PUT /admin/users/{user_id}/budget': () => ({
      method: 'PUT',
      path: '/admin/users/fuzz-user/budget',
      query: '',
      ...json({ monthly_limit_usd: '20', applies_to: 'all' }),
    }),
  };
}

/** Changes any JSON value the way a client can: a hostile value in place of one, a field left out or added, arrays for objects. */
function jsonMutator(random: () => number) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const hostile = (): unknown => {
    const kind = random();
    if (kind < 0.45) return pick(HOSTILE_TEXT);
    if (kind < 0.7) return pick(HOSTILE_NUMBERS);
    return pick(HOSTILE_SHAPES);
  };
  const mutate = (value: unknown): unknown => {
    if (random() < 0.2) return hostile();
    if (Array.isArray(value)) {
      const items = value.map((item) => (random() < 0.5 ? mutate(item) : item));
      if (random() < 0.1) items.push(hostile());
      return items;
    }
    if (value === null || typeof value !== 'object') return value;
    if (random() < 0.05) return [value];
    const copy: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(value)) if (random() > 0.1) copy[name] = random() < 0.5 ? mutate(field) : field;
    if (random() < 0.1) copy[random() < 0.5 ? pick(PROTOTYPE_KEYS) : pick(HOSTILE_TEXT).slice(0, 50)] = hostile();
    return copy;
  };
  return mutate;
}

/** Edits of the JSON text itself: what JSON.stringify never writes. */
const RAW_EDITS: ReadonlyArray<(text: string, random: () => number) => string> = [
  // A duplicate key, its second value hostile.
  (text) => text.replace(/^\{"([^"]+)":/, '{"$1":"\\u0000","$1":'),
  (text) => text.replace(/^\{/, '{"__proto__":{"isAdmin":true},'),
  (text) => text.replace(/^\{/, '{"constructor":{"prototype":{"polluted":1}},'),
  (text) => text.replace(/:(\d+)/, ':NaN'),
  (text) => text.replace(/:(\d+)/, ':Infinity'),
  (text) => text.replace(/:(\d+)/, ':1e999'),
  (text) => text.replace(/:(\d+)/, ':-0'),
  (text) => text.replace(/:(\d+)/, ':0.0000000000000000000000000001'),
  (text) => text.replace(/:(\d+)/, `:${'9'.repeat(400)}`),
  (text) => text.replace(/"([^"]*)"/, '"\\ud800"'),
  (text) => text.replace(/:"([^"]*)"/, ':"\\u0000"'),
  (text) => `${text} `,
  (text) => `${text}x`,
  (text) => `\ufeff${text}`,
  (text, random) => text.slice(0, Math.floor(random() * text.length)),
  (text) => `[${text}]`,
  (text) => `"${text.replaceAll('"', '\\"')}"`,
  (text) => `${'['.repeat(63)}${text}${']'.repeat(63)}`,
  (text) => `${'{"a":'.repeat(70)}1${'}'.repeat(70)}${text}`,
  () => 'null',
  () => '0',
  () => 'true',
  () => '""',
];

/** One to three changes to a valid request. */
function requestMutator(random: () => number, bodyFields: readonly string[]) {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const mutateJson = jsonMutator(random);
  const edits: ReadonlyArray<(request: FuzzRequest) => void> = [
    (request) => {
      if (request.json === undefined) request.json = mutateJson({ a: 1 });
      else request.json = mutateJson(request.json);
      request.headers['content-type'] ??= 'application/json';
    },
    (request) => {
      request.json = mutateJson(request.json ?? {});
      request.headers['content-type'] ??= 'application/json';
    },
    (request) => {
      request.body = pick(RAW_EDITS)(JSON.stringify(request.json ?? {}), random);
      request.headers['content-type'] ??= 'application/json';
    },
    (request) => {
      const text = JSON.stringify(request.json ?? {});
      const at = Math.floor(random() * (text.length + 1));
      const bytes = new TextEncoder().encode(text);
      const inserted = pick([[0xff], [0xc3], [0x00], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf]]);
      request.body = new Uint8Array([...bytes.slice(0, at), ...inserted, ...bytes.slice(at)]);
      request.headers['content-type'] ??= 'application/json';
    },
    (request) => void (request.method = pick(ODD_METHODS)),
    (request) => {
      const segments = request.path.split('/');
      const at =
        segments.length > 2 && random() < 0.8
          ? segments.length - (request.path.endsWith('/budget') ? 2 : 1)
          : 1 + Math.floor(random() * (segments.length - 1));
      segments[at] = pick(PATH_PARAMS);
      request.path = segments.join('/');
    },
    (request) => void (request.path = pick([`${request.path}/`, `${request.path}//`, `${request.path}/.`, request.path.toUpperCase()])),
    (request) => void (request.headers['content-type'] = pick(CONTENT_TYPES)),
    (request) => void (request.headers['content-encoding'] = pick(CONTENT_ENCODINGS)),
    (request) => void (request.headers['content-type'] = ['application/json', pick(CONTENT_TYPES)]),
    (request) => void (request.headers['x-request-id'] = pick([...HOSTILE_TEXT.slice(0, 16), KEYS.sentAsRequestId, 'ok-id'])),
    (request) => void (request.headers['x-request-id'] = ['one', 'two']),
    (request) => void (request.headers['authorization'] = `Bearer ${'x'.repeat(64 * 1024)}`),
    (request) => void (request.headers['authorization'] = ['Bearer a', 'Bearer b']),
    (request) => void (request.headers['content-length'] = pick(['0', '1', '-1', '1e3', ' ', 'abc', '99999999999999999999', '5, 5'])),
    (request) => void (request.query = pick(QUERY_EDITS)(request.query, random)),
    // A body's field sent in the query instead, with or without the body.
    (request) =>
      void (request.query = `${request.query || '?'}${request.query ? '&' : ''}${pick(bodyFields)}=${pick(['true', 'false', '1', ''])}`),
    (request) => void (request.caller = pick(['anonymous', 'user', 'admin'] as const)),
  ];
  return (request: FuzzRequest) => {
    for (let count = 1 + Math.floor(random() * 3); count > 0; count--) pick(edits)(request);
  };
}

function bodyBytes(request: FuzzRequest): Uint8Array | undefined {
  const raw = request.body ?? (request.json === undefined ? undefined : JSON.stringify(request.json));
  return typeof raw === 'string' ? new TextEncoder().encode(raw) : raw;
}

/** An answer with its generated request ids (a request sent none, or no sane one) alike. */
const sameId = (text: string) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '(generated)');

/** What the fuzzer reads of an operation in the OpenAPI document. */
interface OpenApiOperation {
  parameters?: Array<{ name?: string; in?: string }>;
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
}

/** The request as an adapter hands it to core. */
function toByokitRequest(request: FuzzRequest): ByokitRequest {
  const bytes = bodyBytes(request);
  return {
    method: request.method,
    url: request.path + request.query,
    headers: request.headers,
    body: bytes === undefined ? { kind: 'none' } : { kind: 'stream', stream: [bytes] },
    authenticate: () => CALLERS[request.caller],
  };
}

/**
 * The body as a host's JSON parser leaves it, when one would (valid UTF-8 JSON declared as JSON, with no Content-Length
 * lie, no Content-Encoding, a method with a body); undefined otherwise.
 */
function parsedBody(request: FuzzRequest): { value: unknown } | undefined {
  const bytes = bodyBytes(request);
  const declared = request.headers['content-length'];
  if (!bytes || request.headers['content-encoding'] !== undefined || (declared !== undefined && declared !== String(bytes.length)))
    return undefined;
  if (request.headers['content-type'] !== 'application/json' || ['GET', 'HEAD', 'DELETE'].includes(request.method.toUpperCase()))
    return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
    return value !== null && typeof value === 'object' ? { value } : undefined;
  } catch {
    return undefined;
  }
}

/** Who a fetch request is from, in a header of the test's own that byokit does not read. */
const CALLER_HEADER = 'x-fuzz-caller';

/**
 * The request as a fetch host receives it, below `/v2`; undefined where the WHATWG URL parser would change its path
 * or query (dot segments, `#`: another request, answered otherwise on purpose), or where fetch itself refuses it (a
 * forbidden method, a header value with NUL, a body on a GET).
 */
function toFetchRequest(request: FuzzRequest): Request | undefined {
  const url = new URL(`/v2${request.path}${request.query}`, 'http://fuzz.test');
  if (url.pathname + url.search !== `/v2${request.path}${request.query}`) return undefined;
  try {
    const headers = new Headers({ [CALLER_HEADER]: request.caller });
    for (const [name, value] of Object.entries(request.headers)) for (const one of [value].flat()) headers.append(name, one);
    return new Request(url, { method: request.method, headers, body: bodyBytes(request)?.slice() ?? null });
  } catch {
    return undefined;
  }
}

async function fetchAnswer(response: Response): Promise<string> {
  const headers = Object.fromEntries([...response.headers].sort());
  return JSON.stringify({ status: response.status, headers, body: await response.text() });
}

function described(request: FuzzRequest): string {
  const body = request.body ?? (request.json === undefined ? undefined : JSON.stringify(request.json));
  const text =
    body === undefined ? '' : ` body ${JSON.stringify((typeof body === 'string' ? body : new TextDecoder().decode(body)).slice(0, 300))}`;
  return `${request.method} ${(request.path + request.query).slice(0, 300)} as ${request.caller} headers ${JSON.stringify(request.headers).slice(0, 300)}${text}`;
}

async function stateOf(storage: Storage, mockCalls: number): Promise<string> {
  const owners = [userOwner(user.userId), userOwner(admin.userId), SYSTEM_OWNER];
  const keys = await Promise.all(owners.map((owner) => storage.listKeys(owner)));
  return JSON.stringify({
    keys: keys.map((list) => list.map((key) => ({ ...key, envelope: [...key.envelope] }))),
    audit: await storage.listAudit({ limit: 10_000 }),
    budgets: await Promise.all([user.userId, admin.userId].map((id) => storage.getBudget(id))),
    models: await storage.listModels(),
    providerCalls: mockCalls,
  });
}

const contractEnvelope = (body: unknown, requestId: string): string[] => {
  const problems: string[] = [];
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return ['no error object'];
  if (Object.keys(body as object).length !== 1) problems.push('more than the error at the top');
  const allowed = new Set(['code', 'message', 'provider', 'key_source', 'issues', 'request_id']);
  for (const name of Object.keys(error)) if (!allowed.has(name)) problems.push(`unexpected field ${name}`);
  if (typeof error.code !== 'string' || !/^[a-z_]+$/.test(error.code)) problems.push('code');
  if (typeof error.message !== 'string' || error.message === '') problems.push('message');
  if (error.request_id !== requestId) problems.push('request_id is not the header');
  if (error.issues !== undefined) {
    const issues = error.issues as unknown[];
    if (!Array.isArray(issues) || issues.length === 0) problems.push('issues not a list');
    else
      for (const issue of issues) {
        const { path, message, ...rest } = issue as Record<string, unknown>;
        if (typeof path !== 'string' || typeof message !== 'string' || Object.keys(rest).length) problems.push('issue shape');
      }
  }
  return problems;
};

const openAiEnvelope = (body: unknown): string[] => {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return ['no error object'];
  const { message, type, param, code, ...rest } = error;
  const problems: string[] = [];
  if (Object.keys(rest).length) problems.push('unexpected fields');
  if (typeof message !== 'string' || typeof type !== 'string' || typeof code !== 'string') problems.push('message/type/code');
  if (param !== null && typeof param !== 'string') problems.push('param');
  return problems;
};

/** Control characters a client could send that a log line must never hold raw: CR, LF, ESC, and the line separators. */
const RAW_CONTROL = /[\r\n\u001b\u0085\u2028\u2029]/;

describe('route fuzzing: seeded hostile requests on every route', () => {
  it(`${COUNT} requests: no 5xx, every error in its surface's shape, a refusal changes nothing, no key or forged log line`, async () => {
    const storage = memoryStorage();
    const logLines: Array<{ level: string; message: string; object: Record<string, unknown> }> = [];
    const line =
      (level: string): LogMethod =>
      (object, message) =>
        void logLines.push({ level, message, object });
    const logger: Logger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
    const { ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY } = KEYS;
    const byokit: Byokit = await createByokit({
      storage,
      keyring: testKeyring(),
      environment: { ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY },
      logger,
      providers: Object.fromEntries(PROVIDERS.map((provider) => [provider, { baseUrl: mock.baseUrls[provider], retries: 0 }])),
    });
    try {
      const send = async (request: FuzzRequest) => {
        const response = await byokit.handle(toByokitRequest(request));
        if (!response) return undefined;
        let text = '';
        if (typeof response.body === 'string') text = response.body;
        else for await (const chunk of response.body) text += chunk;
        return { ...response, text };
      };
      const models = JSON.parse(
        (await send({ method: 'GET', path: '/llm-models', query: '?all=true', headers: {}, caller: 'admin' }))!.text,
      ).data as Array<{ id: string; model: string; provider: string }>;
      const model = models.find((candidate) => candidate.provider === 'openai')!;
      const valid = validRequests(model.id, model.model);

      // Every operation the document lists has a valid request here.
      const document = JSON.parse(
        (await send({ method: 'GET', path: '/openapi.json', query: '', headers: {}, caller: 'anonymous' }))!.text,
      );
      // Each operation's query parameters and body fields, as the document gives them.
      const fieldsOf = new Map<string, { query: Set<string>; body: Set<string> }>();
      for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, OpenApiOperation>>)) {
        for (const [method, operation] of Object.entries(item)) {
          if (!['get', 'put', 'post', 'patch', 'delete'].includes(method)) continue;
          const query = (operation.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name!);
          const reference = operation.requestBody?.content['application/json']?.schema.$ref;
          const schema = reference ? document.components.schemas[reference.split('/').pop()!] : undefined;
          fieldsOf.set(`${method.toUpperCase()} ${path.replace(/\/$/, '')}`, {
            query: new Set(query),
            body: new Set(Object.keys((schema as { properties?: object } | undefined)?.properties ?? {})),
          });
        }
      }
      const operations = [...fieldsOf.keys()];
      expect(operations.filter((operation) => !(operation in valid))).toEqual([]);

      const fetchHandler = createFetchHandler(byokit, {
        authenticate: (request) => CALLERS[(request.headers.get(CALLER_HEADER) ?? 'anonymous') as Caller] ?? null,
      });
      let comparedWithFetch = 0;
      let comparedParsed = 0;

      const random = seededRandom(SEED);
      const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
      const mutate = requestMutator(random, [...new Set([...fieldsOf.values()].flatMap(({ body }) => [...body]))]);
      const failures: string[] = [];
      const captured: Array<[string, string]> = [];
      for (let index = 0; index < COUNT; index++) {
        const operation = pick(operations);
        const base = valid[operation]!();
        const access = operation.includes('/admin') || /^(POST|PATCH) \/llm-models/.test(operation) ? 'admin' : 'user';
        const request: FuzzRequest = {
          ...base,
          headers: { ...(base.json !== undefined && { 'content-type': 'application/json' }), 'x-request-id': `fuzz-${index}` },
          caller: operation === 'GET /openapi.json' ? 'anonymous' : access,
        };
        mutate(request);
        const name = `#${index} ${described(request)}`;
        const before = await stateOf(storage, mock.requests.length);
        const logsBefore = logLines.length;
        let response: Awaited<ReturnType<typeof send>>;
        try {
          response = await send(request);
        } catch (error) {
          failures.push(`${name}: threw ${String(error).slice(0, 300)}`);
          continue;
        }
        if (!response) continue;
        captured.push([name, JSON.stringify({ headers: response.headers, text: response.text })]);
        const requestId = response.headers['x-request-id']!;
        const problems: string[] = [];
        let body: unknown;
        try {
          body = request.method.toUpperCase() === 'HEAD' ? undefined : JSON.parse(response.text.startsWith('data:') ? '{}' : response.text);
        } catch {
          problems.push('not JSON');
        }
        const errorCode = (body as { error?: { code?: string } } | undefined)?.error?.code;
        if (response.status >= 500 && !/^provider_/.test(String(errorCode))) problems.push(`status ${response.status}`);
        // A body's field sent in the query of the operation itself is never taken as if it were not there.
        if (response.status < 300 && request.path === base.path && request.method.toUpperCase() === base.method) {
          const { query, body: fields } = fieldsOf.get(operation)!;
          const names = [...new URLSearchParams(request.query.split('#')[0]!.slice(1)).keys()];
          const ignored = names.filter((name) => fields.has(name) && !query.has(name));
          if (ignored.length) problems.push(`${ignored.join(', ')} in the query was ignored`);
        }
        // A body sent compressed (or labelled so) is never read as if it were plain; unless its Content-Length said
        // there was none, which only an in-process caller can say of a body it sends.
        const coding = [request.headers['content-encoding'] ?? []].flat()[0]?.trim().toLowerCase();
        const length = bodyBytes(request)?.length ?? 0;
        const declared = request.headers['content-length'];
        if (
          response.status < 300 &&
          coding &&
          coding !== 'identity' &&
          length > 0 &&
          (declared === undefined || declared === String(length))
        )
          problems.push(`a body sent as ${coding} was read as plain`);
        if (response.status >= 400 && request.method.toUpperCase() !== 'HEAD') {
          const openAi = request.path.startsWith('/openai/');
          problems.push(...(openAi ? openAiEnvelope(body) : contractEnvelope(body, requestId)));
          if (!/^provider_/.test(String(errorCode)) && (await stateOf(storage, mock.requests.length)) !== before)
            problems.push('refused, yet the state changed');
        }
        // A sample of the refusals again through the fetch handler, and through core as the fetch handler hands the
        // request over: byte for byte the same answer (a generated request id aside).
        if (index % 3 === 0 && response.status >= 400 && !/^provider_/.test(String(errorCode))) {
          const viaFetch = toFetchRequest(request);
          const asCoreGetsIt = toFetchRequest(request);
          if (viaFetch && asCoreGetsIt) {
            comparedWithFetch++;
            const fetched = sameId(await fetchAnswer(await fetchHandler(viaFetch)));
            const direct = await byokit.handle({
              method: asCoreGetsIt.method,
              url: new URL(asCoreGetsIt.url).pathname.slice('/v2'.length) + new URL(asCoreGetsIt.url).search,
              headers: asCoreGetsIt.headers,
              body: asCoreGetsIt.body ? { kind: 'stream', stream: asCoreGetsIt.body } : { kind: 'none' },
              authenticate: () => CALLERS[request.caller],
            });
            // The fetch handler frames a whole answer with its Content-Length (HEAD's aside); core leaves framing to it.
            const framed =
              direct && typeof direct.body === 'string' && request.method.toUpperCase() !== 'HEAD'
                ? { ...direct.headers, 'content-length': String(Buffer.byteLength(direct.body)) }
                : direct?.headers;
            const expected =
              direct && sameId(await fetchAnswer(new Response(direct.body as string, { status: direct.status, headers: framed })));
            if (fetched !== expected) problems.push(`the fetch handler answered ${fetched.slice(0, 300)}, core ${expected?.slice(0, 300)}`);
          }
        }
        // A sample of the refusals of a JSON body again as a host's parser hands it over (`express.json()` ran first):
        // the same answer, as byokit holds a parsed body to the same rules.
        const parsed = index % 3 === 1 && response.status >= 400 && !/^provider_/.test(String(errorCode)) ? parsedBody(request) : undefined;
        if (parsed) {
          comparedParsed++;
          const again = await byokit.handle({ ...toByokitRequest(request), body: { kind: 'parsed', value: parsed.value } });
          const text = again && typeof again.body === 'string' ? again.body : undefined;
          if (again?.status !== response.status || sameId(text ?? '') !== sameId(response.text))
            problems.push(`parsed by the host first, answered ${again?.status} ${text?.slice(0, 300)}`);
        }
        for (const [header, value] of Object.entries(response.headers))
          if (/[\r\n\u0000]/.test(value)) problems.push(`header ${header} holds a control character`);
        for (const logged of logLines.slice(logsBefore)) {
          const text = JSON.stringify(logged);
          captured.push([`${name}: log`, text]);
          if (RAW_CONTROL.test(logged.message))
            problems.push(`log message holds a raw control character: ${JSON.stringify(logged.message).slice(0, 200)}`);
          for (const [field, value] of Object.entries(logged.object)) {
            if (typeof value === 'string' && RAW_CONTROL.test(value))
              problems.push(`log field ${field} holds a raw control character: ${JSON.stringify(value).slice(0, 200)}`);
            // An error's stack spans lines (pino writes it JSON-escaped), but never holds a client's text.
            if (field === 'err' && JSON.stringify(value).includes(LOG_MARK)) problems.push(`log field ${field} holds a client's text`);
          }
        }
        if (problems.length) failures.push(`${name}: ${response.status} ${problems.join('; ')} — ${response.text.slice(0, 300)}`);
      }
      expect(failures).toEqual([]);
      // The samples through the fetch handler and as parsed bodies are not empty.
      expect(comparedWithFetch).toBeGreaterThan(COUNT / 20);
      expect(comparedParsed).toBeGreaterThan(COUNT / 100);
      expect(findKeyLeaks(Object.values(KEYS), captured).slice(0, 5)).toEqual([]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    } finally {
      await byokit.close();
    }
  }, 60_000);
});
