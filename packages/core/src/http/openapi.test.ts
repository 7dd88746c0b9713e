import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Byokit } from '../byokit.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { PROVIDERS } from '../keys/providers.js';
import { sendToCore } from '../testing/adapter-conformance/exchange.js';
import { ENVIRONMENT } from '../testing/adapter-conformance/scenarios.js';
import { described, seededExchanges } from '../testing/adapter-conformance/seeded-requests.js';
import { randomKeyring, startSide } from '../testing/adapter-conformance/world.js';
import { hostileJson } from '../testing/hostile-requests.js';
import { MAX_CONTENT_CHARACTERS } from '../chat/chat-schemas.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import type { RateLimiter } from '../metering/rate-limiter.js';
import { seededRandom } from '../testing/seeded-random.js';
import { startMockProviders, type MockProviders } from '../testing/mock-providers.js';
import type { JsonSchema } from './json-schema-components.js';
import { openApiDocument, openApiPath, type OpenApiDocument } from './openapi.js';
import { defineRoute, type Route } from './route.js';
import type { Principal } from './types.js';
import { userOwner } from '../storage/storage.js';
import { admin, alice, call, sseEvents, testByokit } from './test-helpers.js';

// The routes the handler is built with, caught on their way in: the document must describe this very list.
const handlerRoutes = vi.hoisted(() => [] as Array<readonly Route<any, any, any>[]>);
vi.mock('./handler.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('./handler.js')>();
  return {
    ...original,
    createRequestHandler: (routes: readonly Route<any, any, any>[], ...rest: [any]) => {
      handlerRoutes.push(routes);
      return original.createRequestHandler(routes, ...rest);
    },
  };
});

/** The guide's model id: claude-sonnet-4-5 (spec/http-api.md, Models). */
const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';
const systemKeys = { anthropic: fakeProviderKey('anthropic'), openai: fakeProviderKey('openai'), google: fakeProviderKey('google') };
const personalKey = fakeProviderKey('openai');
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

let mock: MockProviders;
let byokit: Byokit;
let routes: readonly Route<any, any, any>[];
let document: OpenApiDocument;
let documentText: string;

beforeAll(async () => {
  mock = await startMockProviders();
  const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
  ({ byokit } = await testByokit({
    providers,
    environment: { ANTHROPIC_API_KEY: systemKeys.anthropic, OPENAI_API_KEY: systemKeys.openai, GOOGLE_API_KEY: systemKeys.google },
  }));
  routes = handlerRoutes.at(-1)!;
  const response = await call(byokit, 'GET', '/openapi.json');
  expect(response!.status).toBe(200);
  documentText = response!.text;
  document = response!.json;
});
afterAll(() => mock.close());
beforeEach(() => mock.reset());

/** Every operation of the document: method, path and the operation object. */
function operations(doc: OpenApiDocument = document) {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method]).map((method) => ({ method, path, operation: item[method] as Record<string, any> })),
  );
}

/** The document checked by a real OpenAPI validator (a copy: the validator writes into what it is given). */
const validateOpenApi = (doc: OpenApiDocument) => new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);

/**
 * A JSON Schema validator over the document's components (ajv, as the OpenAPI validator uses it): strict, so
 * a keyword ajv does not know is an error, and `#/components/schemas/…` references resolve as in the document.
 */
function schemaValidator(doc: OpenApiDocument = document) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(ajv);
  const toDefs = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/components/schemas/', '"urn:byokit:openapi#/$defs/'));
  ajv.addSchema({ $id: 'urn:byokit:openapi', $defs: toDefs(doc.components.schemas) as JsonSchema });
  return (schema: JsonSchema): ValidateFunction => ajv.compile(toDefs(schema) as JsonSchema);
}

/** Every schema of the document, components and inline ones, compiles (ajv strict: no keyword it does not know). */
function expectEverySchemaCompiles(doc: OpenApiDocument) {
  const compile = schemaValidator(doc);
  for (const name of Object.keys(doc.components.schemas)) {
    expect(() => compile({ $ref: `#/components/schemas/${name}` }), name).not.toThrow();
  }
  for (const { operation } of operations(doc)) {
    const media = [
      ...Object.values((operation.requestBody?.content ?? {}) as Record<string, { schema: JsonSchema }>),
      ...Object.values(operation.responses as Record<string, { content?: Record<string, { schema: JsonSchema }> }>).flatMap((response) =>
        Object.values(response.content ?? {}),
      ),
    ];
    for (const { schema } of media) expect(() => compile(schema), operation.operationId).not.toThrow();
    for (const parameter of operation.parameters ?? []) {
      const { schema } = (parameter.$ref ? doc.components.parameters[String(parameter.$ref).split('/').at(-1)!] : parameter) as JsonSchema;
      expect(() => compile(schema as JsonSchema), operation.operationId).not.toThrow();
    }
  }
}

describe('GET /openapi.json', () => {
  it('is valid OpenAPI 3.1, as checked by @seriousme/openapi-schema-validator', async () => {
    const result = await validateOpenApi(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toMatch(/^3\.1\.\d+$/);
  });

  // Compiling every schema is CPU work (0.75 s alone): 30 s, since `npm test` runs every package at once on shared cores.
  it('holds schemas that each compile as strict JSON Schema 2020-12, the dialect of OpenAPI 3.1', () => {
    expectEverySchemaCompiles(document);
  }, 30_000);

  it('describes every route the handler serves, with its method, and nothing else', () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const operation = document.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.path}`).toMatchObject({ summary: route.summary, 'x-byokit-access': route.access });
    }
    expect(operations()).toHaveLength(routes.length);
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('holds every route of the contract (spec/http-api.md)', () => {
    const contract = [
      'get /users/me/api-key-status',
      'patch /users/me/api-key',
      'delete /users/me/api-key',
      'get /admin/api-key-status',
      'patch /admin/api-key',
      'delete /admin/api-key',
      'get /llm-models',
      'get /llm-models/{id}',
      'post /llm-models',
      'patch /llm-models/{id}',
      'post /llm/chat/completions',
      'post /openai/v1/chat/completions',
      'get /openai/v1/models',
      'get /llm/usage/me',
      'get /llm/usage/me/events',
      'get /admin/usage',
      'get /users/me/budget',
      'put /admin/users/{user_id}/budget',
      'get /openapi.json',
    ];
    const documented = new Set(operations().map(({ method, path }) => `${method} ${path}`));
    expect(contract.filter((entry) => !documented.has(entry))).toEqual([]);
  });

  it('is public: answered without asking the host who is calling', async () => {
    const authenticate = vi.fn(() => null);
    const response = await byokit.handle({ method: 'GET', url: '/openapi.json', headers: {}, body: { kind: 'none' }, authenticate });
    expect(response!.status).toBe(200);
    expect(authenticate).not.toHaveBeenCalled();
    const operation = document.paths['/openapi.json']!.get!;
    expect(operation.security).toEqual([]);
    expect(document.security).toEqual([{ bearer: [] }]);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('takes x-request-id on every operation, as the contract does: a sane one is sent back, any other replaced, never refused', async () => {
    expect(document.components.parameters?.RequestId).toMatchObject({ name: 'x-request-id', in: 'header', required: false });
    const sane = 'req-7.retry:2_of_3';
    const replaced = ['an id with spaces', 'x'.repeat(129), 'é', personalKey];
    for (const { method, path, operation } of operations()) {
      expect(operation.parameters, operation.operationId).toContainEqual({ $ref: '#/components/parameters/RequestId' });
      // No one signed in (the document is public): every operation answers at once, and the id is in every answer.
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(PATH_VALUES[name] ?? 'x'));
      const echoed = await call(byokit, method.toUpperCase(), url, { headers: { 'x-request-id': sane } });
      expect(echoed!.headers['x-request-id'], operation.operationId).toBe(sane);
      for (const sent of replaced) {
        const answer = await call(byokit, method.toUpperCase(), url, { headers: { 'x-request-id': sent } });
        expect([answer!.status, answer!.headers['x-request-id']], operation.operationId).toEqual([
          echoed!.status,
          expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        ]);
      }
    }
  });

  it('answers the same bytes every time', async () => {
    const again = await call(byokit, 'GET', '/openapi.json');
    const andAgain = await call(byokit, 'GET', '/openapi.json?anything=1');
    expect(again!.text).toBe(documentText);
    expect(andAgain!.text).toBe(documentText);
    expect(again!.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('holds no key material, no secret', () => {
    // The keys this byokit holds (system keys from its environment), in every form the canary harness knows.
    expect(findKeyLeaks([...Object.values(systemKeys), personalKey], [['openapi.json', documentText]])).toEqual([]);
    // Nor anything shaped like a provider key (spec/security.md, key formats).
    expect(documentText.match(/sk-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{30,}/g)).toBeNull();
  });

  it('puts paths below the mount prefix, the one server', async () => {
    expect(document.servers).toEqual([{ url: '/v2', description: expect.any(String) }]);
    expect(Object.keys(document.paths).every((path) => path.startsWith('/') && !path.startsWith('/v2/'))).toBe(true);
    const elsewhere = (await testByokit({ openApi: { prefix: '/api/llm/', title: 'Our LLM API', version: '7.0.0' } })).byokit;
    const described = (await call(elsewhere, 'GET', '/openapi.json'))!.json as OpenApiDocument;
    expect(described.servers[0]!.url).toBe('/api/llm');
    expect(described.info).toMatchObject({ title: 'Our LLM API', version: '7.0.0' });
  });

  it('serves the same bytes behind any proxy: no Host, Forwarded or X-Forwarded-* header changes its one server', async () => {
    // docs/architecture.md, "Behind a reverse proxy": the server is openApi.prefix, whatever a request came with.
    const { byokit: mounted } = await testByokit({ openApi: { prefix: '/api/llm' }, fetchHandler: { authenticate: () => null } });
    const fetched = async (url: string, headers: Record<string, string> = {}) => {
      const answer = await mounted.fetch(new Request(url, { headers: { 'x-request-id': 'same', ...headers } }));
      return [answer.status, await answer.text()];
    };
    const plain = await fetched('http://localhost/v2/openapi.json');
    expect(plain[0]).toBe(200);
    expect((JSON.parse(plain[1] as string) as OpenApiDocument).servers).toEqual([{ url: '/api/llm', description: expect.any(String) }]);
    const proxied = await fetched('https://evil.example:8443/v2/openapi.json', {
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'http',
      'x-forwarded-prefix': '/evil',
      'x-forwarded-for': '203.0.113.9',
      forwarded: 'for=203.0.113.9;host=evil.example;proto=http',
    });
    expect(proxied).toEqual(plain);
  });

  it('marks admin routes, and lists 401 for signed-in routes and 403 for admin ones', () => {
    for (const route of routes) {
      const operation = document.paths[openApiPath(route.path)]![route.method.toLowerCase()] as Record<string, any>;
      if (route.access !== 'public') expect(operation.responses['401'], operation.operationId).toBeDefined();
      if (route.access === 'admin') {
        expect(operation.responses['403'], operation.operationId).toBeDefined();
        expect(operation.description).toContain('Admins only');
      }
    }
  });

  it('lists 422 on each operation without a body, and says it refuses a body sent to it', async () => {
    for (const route of routes.filter((candidate) => !candidate.body)) {
      const operation = document.paths[openApiPath(route.path)]![route.method.toLowerCase()] as Record<string, any>;
      expect(operation.responses['422'], operation.operationId).toBeDefined();
      expect(operation.description, operation.operationId).toContain('Takes no request body');
    }
    const status = await call(byokit, 'GET', '/users/me/api-key-status', { principal: { userId: 'u', isAdmin: false }, body: {} });
    expect(status!.status).toBe(422);
  });

  it('says on each operation with a query that a parameter given twice is refused', () => {
    for (const route of routes.filter((candidate) => candidate.query)) {
      const operation = document.paths[openApiPath(route.path)]![route.method.toLowerCase()] as Record<string, any>;
      expect(operation.description, operation.operationId).toContain('A query parameter given more than once is refused');
    }
  });

  it("gives the contract's error shape as a component, its codes an enum", () => {
    const error = document.components.schemas.Error as any;
    expect(error.properties.error.required).toEqual(expect.arrayContaining(['code', 'message', 'request_id']));
    expect(error.properties.error.properties.code.enum).toEqual(
      expect.arrayContaining(['api_key_required', 'validation_failed', 'internal_error']),
    );
    expect(error.properties.error.properties.code.enum).not.toContain('key_decrypt_failed');
    const chat = document.paths['/llm/chat/completions']!.post as any;
    expect(chat.responses['400'].content['application/json'].schema.allOf).toEqual([{ $ref: '#/components/schemas/Error' }]);
    expect(chat.responses['402'].content['application/json'].schema.properties.error.properties.code.enum).toEqual(['budget_exceeded']);
    expect(chat.responses['200'].content['text/event-stream']).toBeDefined();
  });
});

describe("the document's schemas tell the truth", () => {
  it('says what every amount of money is: each price per million tokens, and each other amount how it is written', () => {
    // Usage records' prices read "Exact decimal US dollars.", a price per million tokens taken for a cost; the budget's
    // figures, two of them rounded to 6 decimals, and the admin's prices said nothing.
    const fields: Array<[where: string, description: unknown]> = [];
    const visit = (value: unknown, where: string): void => {
      if (typeof value !== 'object' || value === null) return;
      const { properties } = value as { properties?: Record<string, { description?: unknown }> };
      for (const [name, schema] of Object.entries(properties ?? {})) {
        if (name.endsWith('_usd')) fields.push([`${where}/properties/${name}`, schema.description]);
      }
      for (const [key, inner] of Object.entries(value)) visit(inner, `${where}/${key}`);
    };
    visit(document, '#');
    expect(fields.length).toBeGreaterThan(20);
    const wrong = fields.filter(([where, description]) =>
      typeof description !== 'string'
        ? true
        : where.endsWith('_per_mtok_usd')
          ? !description.includes('per million tokens')
          : description.includes('per million tokens'),
    );
    expect(wrong).toEqual([]);
    const budget = (document.components.schemas.GetUsersMeBudgetResponse as any).properties;
    expect(budget.spent_usd.description).toMatch(/6 decimals/);
    expect(budget.remaining_usd.description).toMatch(/6 decimals, rounded down/);
  });

  it('names every provider byokit knows wherever it lists providers, and no other', () => {
    // A list written out beside PROVIDERS stayed three long without a word when a fourth provider was added to it.
    const lists: Array<[where: string, names: unknown]> = [];
    const visit = (value: unknown, where: string): void => {
      if (typeof value !== 'object' || value === null) return;
      const { name, schema, properties } = value as { name?: unknown; schema?: { enum?: unknown }; properties?: Record<string, any> };
      if (name === 'provider') lists.push([where, schema?.enum]);
      if (properties?.provider) lists.push([`${where}/properties/provider`, properties.provider.enum]);
      const names = Object.keys(properties ?? {});
      if (names.some((field) => field.endsWith('_api_key'))) lists.push([where, names.map((field) => field.replace(/_api_key$/, ''))]);
      if (names.some((field) => /^has_.+_key$/.test(field))) {
        lists.push([where, names.filter((field) => field !== 'keys').map((field) => field.replace(/^has_(.+)_key$/, '$1'))]);
        lists.push([`${where}/properties/keys`, Object.keys(properties!.keys.properties)]);
      }
      for (const [key, inner] of Object.entries(value)) visit(inner, `${where}/${key}`);
    };
    visit(document, '#');
    // Every list, by where it is: a count at least 12 (of 16) let four disappear unseen, and with them a client's
    // enum. A list added is added here, knowingly.
    const schemas = '#/components/schemas';
    expect(lists.map(([where]) => where).sort()).toEqual(
      [
        // The provider query: both DELETEs of a key, and the model list's filter.
        '#/paths//users/me/api-key/delete/parameters/0',
        '#/paths//admin/api-key/delete/parameters/0',
        '#/paths//llm-models/get/parameters/1',
        // The key body (both PATCHes), and each key status: its has_…_key fields and its keys record.
        `${schemas}/PatchUsersMeApiKeyRequest`,
        `${schemas}/GetUsersMeApiKeyStatusResponse`,
        `${schemas}/GetUsersMeApiKeyStatusResponse/properties/keys`,
        `${schemas}/GetAdminApiKeyStatusResponse`,
        `${schemas}/GetAdminApiKeyStatusResponse/properties/keys`,
        // An admin's model, a model, each answer and stream event of both chat routes, a usage record, an error.
        `${schemas}/PostLlmModelsRequest/properties/provider`,
        `${schemas}/GetLlmModelsByIdResponse/properties/provider`,
        `${schemas}/PostLlmChatCompletionsResponse/properties/provider`,
        `${schemas}/PostLlmChatCompletionsEvent/properties/provider`,
        `${schemas}/PostOpenaiV1ChatCompletionsResponse/properties/byokit/properties/provider`,
        `${schemas}/PostOpenaiV1ChatCompletionsEvent/properties/byokit/properties/provider`,
        `${schemas}/GetLlmUsageMeEventsResponse/properties/data/items/properties/provider`,
        `${schemas}/Error/properties/error/properties/provider`,
      ].sort(),
    );
    for (const [where, names] of lists) expect(names, where).toEqual([...PROVIDERS]);
  });

  it('the chat body schema accepts a good body and refuses bad ones, as the route does', () => {
    const compile = schemaValidator();
    const chat = document.paths['/llm/chat/completions']!.post as any;
    const accepts = compile(chat.requestBody.content['application/json'].schema);
    const good = { model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 1024, temperature: 0.7 };
    expect(accepts(good), JSON.stringify(accepts.errors)).toBe(true);
    expect(accepts({ ...good, base_url: 'http://169.254.169.254/' })).toBe(false);
    expect(accepts({ ...good, messages: [] })).toBe(false);
    expect(accepts({ ...good, model_id: '../etc/passwd' })).toBe(false);
    expect(accepts({ ...good, max_tokens: '100' })).toBe(false);
  });

  it('the key body schema accepts a string or null per provider and refuses unknown fields', () => {
    const compile = schemaValidator();
    const patch = document.paths['/users/me/api-key']!.patch as any;
    const accepts = compile(patch.requestBody.content['application/json'].schema);
    expect(accepts({ openai_api_key: 'sk-…', google_api_key: null })).toBe(true);
    expect(accepts({ user_id: 'bob', openai_api_key: null })).toBe(false);
    expect(accepts({ openai_api_key: 42 })).toBe(false);
  });
});

/** Whether the document's `text` (JSON) says `message` in words: what a route checks that JSON Schema cannot. */
const saysInWords = (text: string, message: string) => text.includes(JSON.stringify(message).slice(1, -1));

/** Path parameters that name something that exists; anything else gets a placeholder. */
const PATH_VALUES: Record<string, string> = { id: GUIDE_MODEL_ID, user_id: 'user-alice', model: 'claude-sonnet-4-5' };

/** A minimal valid request body for each operation that takes one; an operation missing here is sent none. */
const BODIES: Record<string, unknown> = {
  'patch /users/me/api-key': { openai_api_key: personalKey },
  'patch /admin/api-key': { anthropic_api_key: systemKeys.anthropic },
  'post /llm-models': {
    provider: 'openai',
    model: 'gpt-contract-test',
    display_name: 'Contract test',
    context_window: 128_000,
    max_output_tokens: 16_384,
    pricing: { input_per_mtok_usd: '0.15', output_per_mtok_usd: '0.6' },
  },
  'patch /llm-models/{id}': { display_name: 'Claude Sonnet 4.5 (renamed)' },
  'post /llm/chat/completions': { model_id: GUIDE_MODEL_ID, messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64 },
  'post /openai/v1/chat/completions': { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello!' }], max_tokens: 64 },
  'put /admin/users/{user_id}/budget': { monthly_limit_usd: '20' },
};

describe('contract: every documented operation answers as documented', () => {
  it('answers every operation, by an admin with minimal valid inputs, with a status it lists, and a body its schema accepts', async () => {
    const compile = schemaValidator();
    const outcomes: string[] = [];
    for (const { method, path, operation } of operations()) {
      const key = `${method} ${path}`;
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(PATH_VALUES[name] ?? 'x'));
      const response = await call(byokit, method.toUpperCase(), url, { principal: admin, ...(key in BODIES && { body: BODIES[key] }) });
      expect(response, key).toBeDefined();
      const listed = operation.responses[String(response!.status)];
      outcomes.push(`${key} → ${response!.status}`);
      expect(
        listed,
        `${key} answered ${response!.status}, which the document does not list: ${response!.text.slice(0, 300)}`,
      ).toBeDefined();
      expect(response!.status, `${key}: ${response!.text.slice(0, 300)}`).toBeLessThan(500);
      if (key in BODIES || !operation.requestBody) {
        // A valid request: the documented success, whose schema the answer meets.
        expect(response!.status, `${key}: ${response!.text.slice(0, 300)}`).toBeLessThan(300);
      }
      const schema = listed.content?.['application/json']?.schema as JsonSchema | undefined;
      expect(schema, key).toBeDefined();
      const accepts = compile(schema!);
      expect(accepts(response!.json), `${key}: ${JSON.stringify(accepts.errors)}`).toBe(true);
    }
    expect(outcomes.length).toBe(routes.length);
  });

  it('answers a streamed chat with events whose data the documented event schema accepts', async () => {
    const compile = schemaValidator();
    const operation = document.paths['/llm/chat/completions']!.post as any;
    const accepts = compile(operation.responses['200'].content['text/event-stream'].schema);
    const response = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: admin,
      body: { ...(BODIES['post /llm/chat/completions'] as object), stream: true },
    });
    expect(response!.status).toBe(200);
    expect(response!.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(response!.events.length).toBeGreaterThan(2);
    for (const data of response!.events) expect(accepts({ data }), JSON.stringify(accepts.errors)).toBe(true);
  });

  it('answers errors in the shape and with the codes the document lists, e.g. a user on an admin route', async () => {
    const compile = schemaValidator();
    const response = await call(byokit, 'GET', '/admin/usage', { principal: { userId: 'user-alice', isAdmin: false } });
    expect(response!.status).toBe(403);
    const listed = (document.paths['/admin/usage']!.get as any).responses['403'];
    expect(compile(listed.content['application/json'].schema)(response!.json)).toBe(true);
    const anonymous = await call(byokit, 'GET', '/users/me/budget');
    const unauthenticated = (document.paths['/users/me/budget']!.get as any).responses['401'];
    expect(compile(unauthenticated.content['application/json'].schema)(anonymous!.json)).toBe(true);
  });
});

describe('contract: every status each operation lists is one byokit really answers, as the document gives it', () => {
  /** The catalog's Gemini model: no system Google key below, so a user without a key of their own has none for it. */
  const GEMINI = { id: '6670ed35-f78c-598e-bf00-35815c59f0e4', model: 'gemini-4-argon' };
  /** Headers of the transport rather than of the API, on every answer, which no response lists. */
  const TRANSPORT_HEADERS = new Set([
    // The media type, checked against the response's `content` instead.
    'content-type',
    'cache-control',
    'x-content-type-options',
    // A directive to a proxy in front (nginx: do not buffer the stream), which it consumes.
    'x-accel-buffering',
  ]);

  interface Exchange {
    label: string;
    method: string;
    url: string;
    /** The caller; default an admin, `null` for no one. */
    as?: Principal | null;
    body?: unknown;
    rawBody?: string;
    contentType?: string;
    /** Queues what a provider answers next. */
    arrange?: () => void;
    on?: Byokit;
  }

  /** The operation (or the path, for a method it lacks) a request path falls under. */
  const pathOf = (url: string) => {
    const parts = url
      .split('?')[0]!
      .replace(/(.)\/$/, '$1')
      .split('/');
    return Object.keys(document.paths).find((candidate) => {
      const segments = candidate.split('/');
      return segments.length === parts.length && segments.every((segment, index) => /^\{.+\}$/.test(segment) || segment === parts[index]);
    })!;
  };
  const urlOf = (path: string) => path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(PATH_VALUES[name]!));
  /** A response's headers, `$ref`s resolved. */
  const headersOf = (response: { headers?: Record<string, JsonSchema> }) =>
    Object.fromEntries(
      Object.entries(response.headers ?? {}).map(([name, header]) => [
        name.toLowerCase(),
        (typeof header.$ref === 'string' ? document.components.headers[header.$ref.split('/').at(-1)!] : header) as JsonSchema,
      ]),
    );
  /** The codes a response names in its description (`Error: \`a\`, \`b\`.`), as listed for each status. */
  const codesOf = (response: { description: string }) => [...response.description.matchAll(/`([a-z_]+)`/g)].map(([, code]) => code!);

  it('answers each, successes and refusals, with the body its schema accepts and the headers the response names', async () => {
    const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
    // No system Google key: `api_key_required` is a real answer. One user the host's rate limiter always refuses.
    const environment = { ANTHROPIC_API_KEY: systemKeys.anthropic, OPENAI_API_KEY: systemKeys.openai };
    const rateLimit: RateLimiter = {
      take: async (userId) => (userId === 'user-hasty' ? { allowed: false, retryAfterMs: 30_000 } : { allowed: true }),
    };
    const { byokit: own, storage } = await testByokit({ providers, environment, rateLimit });
    const { byokit: closed } = await testByokit();
    await closed.close();
    const rejected = fakeProviderKey('openai');
    mock.rejectKeys.add(rejected);
    const user = (userId: string): Principal => ({ userId, isAdmin: false });
    const inactive = await call(own, 'POST', '/llm-models', {
      principal: admin,
      body: { ...(BODIES['post /llm-models'] as object), model: 'gpt-retired-test', is_active: false },
    });
    expect(inactive!.status).toBe(201);
    const broke = await call(own, 'PUT', '/admin/users/user-broke/budget', { principal: admin, body: { monthly_limit_usd: '0' } });
    expect(broke!.status).toBe(200);
    // A user whose stored Anthropic key no longer opens (its ciphertext altered): `key_unreadable`.
    const unreadable = { userId: 'user-unreadable', isAdmin: false };
    await call(own, 'PATCH', '/users/me/api-key', { principal: unreadable, body: { anthropic_api_key: fakeProviderKey('anthropic') } });
    const row = (await storage.getKey(userOwner(unreadable.userId), 'anthropic'))!;
    const altered = row.envelope.slice();
    altered[altered.length - 1]! ^= 0x01;
    await storage.replaceKeyEnvelope(userOwner(unreadable.userId), 'anthropic', row.envelope, { envelope: altered, keyId: row.keyId });

    const exchanges: Exchange[] = [];
    // What every operation of its kind answers: its success (minimal valid inputs), and the refusals of its kind.
    for (const route of routes) {
      const path = openApiPath(route.path);
      const key = `${route.method.toLowerCase()} ${path}`;
      const url = urlOf(path);
      const at = { method: route.method, url };
      exchanges.push({ label: `${key}: success`, ...at, ...(key in BODIES && { body: BODIES[key] }) });
      if (route.access !== 'public') exchanges.push({ label: `${key}: no one signed in`, ...at, as: null, body: BODIES[key] });
      if (route.access === 'admin') exchanges.push({ label: `${key}: not an admin`, ...at, as: alice, body: BODIES[key] });
      if (route.body) {
        exchanges.push({ label: `${key}: not JSON`, ...at, rawBody: '{' });
        exchanges.push({ label: `${key}: too large`, ...at, rawBody: JSON.stringify({ pad: 'x'.repeat(route.bodyLimitBytes!) }) });
        exchanges.push({ label: `${key}: not a JSON media type`, ...at, rawBody: '{}', contentType: 'text/plain' });
        exchanges.push({ label: `${key}: not an object`, ...at, body: [] });
      } else {
        exchanges.push({ label: `${key}: a body sent to it`, ...at, body: {} });
      }
      // A method the path lacks: the `default` response.
      const lacking = ['GET', 'PUT', 'POST', 'PATCH', 'DELETE'].find((method) => !document.paths[path]![method.toLowerCase()]);
      if (lacking) exchanges.push({ label: `${key}: ${lacking} on its path`, method: lacking, url });
    }
    // And what each answers beyond its kind.
    const keyBody = (field: string, value: string) => ({ [field]: value });
    for (const [path, field] of [
      ['/users/me/api-key', 'openai_api_key'],
      ['/admin/api-key', 'openai_api_key'],
    ] as const) {
      exchanges.push(
        { label: `${path}: a key of the wrong format`, method: 'PATCH', url: path, body: keyBody(field, 'not-a-key') },
        { label: `${path}: a placeholder key`, method: 'PATCH', url: path, body: { anthropic_api_key: 'sk-ant-YOUR-KEY-HERE' } },
        { label: `${path}: a key the provider refuses`, method: 'PATCH', url: `${path}?verify=true`, body: keyBody(field, rejected) },
        { label: `${path}: a key the provider takes`, method: 'PATCH', url: `${path}?verify=true`, body: keyBody(field, personalKey) },
        { label: `${path}: one provider's key removed`, method: 'DELETE', url: `${path}?provider=google` },
        { label: `${path}: a provider byokit has not`, method: 'DELETE', url: `${path}?provider=mistral` },
      );
    }
    const hasty = { userId: 'user-hasty', isAdmin: false };
    exchanges.push(
      {
        label: 'a key set over the host rate',
        method: 'PATCH',
        url: '/users/me/api-key',
        as: hasty,
        body: BODIES['patch /users/me/api-key'],
      },
      { label: 'a key removed over the host rate', method: 'DELETE', url: '/users/me/api-key', as: hasty },
    );
    const noModel = '00000000-0000-0000-0000-000000000000';
    exchanges.push(
      { label: 'every model, asked by a user', method: 'GET', url: '/llm-models?all=true', as: alice },
      { label: 'every model, asked by an admin', method: 'GET', url: '/llm-models/?all=true&is_active=false' },
      { label: 'a model that is not there', method: 'GET', url: `/llm-models/${noModel}` },
      { label: 'a model id that is no UUID', method: 'GET', url: '/llm-models/sonnet' },
      { label: 'a model added twice', method: 'POST', url: '/llm-models', body: BODIES['post /llm-models'] },
      { label: 'a model changed that is not there', method: 'PATCH', url: `/llm-models/${noModel}`, body: { is_active: true } },
      { label: 'an OpenAI model that is not there', method: 'GET', url: '/openai/v1/models/gpt-unknown', as: alice },
      { label: 'usage by day', method: 'GET', url: '/llm/usage/me?group_by=day' },
      { label: 'usage by user, not the caller’s to ask', method: 'GET', url: '/llm/usage/me?group_by=user' },
      { label: 'usage events, a page', method: 'GET', url: '/llm/usage/me/events?limit=1' },
      { label: 'usage events, a cursor byokit never gave', method: 'GET', url: '/llm/usage/me/events?cursor=zzz' },
      { label: 'all usage by user', method: 'GET', url: '/admin/usage?group_by=user' },
      { label: 'a budget removed', method: 'PUT', url: '/admin/users/user-alice/budget', body: { monthly_limit_usd: null } },
    );
    // Both chat routes: streamed, and each refusal before and by the provider.
    for (const chat of [
      { path: '/llm/chat/completions', model: (model: { id: string; model: string }) => ({ model_id: model.id }) },
      { path: '/openai/v1/chat/completions', model: (model: { id: string; model: string }) => ({ model: model.model }) },
    ]) {
      const body = (model = { id: GUIDE_MODEL_ID, model: 'claude-sonnet-4-5' }, more: object = {}) => ({
        ...chat.model(model),
        messages: [{ role: 'user', content: 'Hello!' }],
        max_tokens: 64,
        ...more,
      });
      const ask = (label: string, more: Partial<Exchange> = {}, chatBody: object = body()) =>
        exchanges.push({ label: `${chat.path}: ${label}`, method: 'POST', url: chat.path, as: alice, body: chatBody, ...more });
      const providerSays = (status: number, headers?: Record<string, string>) => () =>
        mock.failNext('anthropic', { status, ...(headers && { headers }) });
      ask('streamed', {}, body(undefined, { stream: true }));
      ask('streamed, failing after it began', { arrange: () => mock.streamErrorNext('anthropic') }, body(undefined, { stream: true }));
      ask(
        'a parameter the model does not take',
        {},
        body({ id: '841ece33-014f-5564-a004-4937b71b768f', model: 'gpt-6.2-sol' }, { top_p: 0.5 }),
      );
      ask('no key for the provider', {}, body(GEMINI));
      ask('a model not active', {}, body({ id: inactive!.json.id, model: 'gpt-retired-test' }));
      ask('a model that is not there', {}, body({ id: noModel, model: 'gpt-unknown' }));
      ask('more tokens than the model writes', {}, body(undefined, { max_tokens: 10_000_000 }));
      ask('over budget', { as: user('user-broke') });
      ask('a stored key that does not open', { as: unreadable });
      ask('over the host rate', { as: user('user-hasty') });
      ask('the provider refuses the key', { arrange: providerSays(401) });
      ask('the provider rate-limits', { arrange: providerSays(429, { 'retry-after': '7' }) });
      ask('the provider refuses the request', { arrange: providerSays(400) });
      ask('the provider fails', { arrange: providerSays(500) });
      ask('the provider times out', { arrange: providerSays(504) });
      // A failure's own delay is passed on with it: Retry-After, and x-should-retry past a minute.
      ask('the provider fails, asking for a wait', { arrange: providerSays(503, { 'retry-after': '30' }) });
      ask('the provider times out, asking for a wait', { arrange: providerSays(504, { 'retry-after': '3600' }) });
    }
    // A byokit closed: every route refuses, the `default` response.
    exchanges.push(
      { label: 'closed: key status', method: 'GET', url: '/users/me/api-key-status', on: closed },
      { label: 'closed: chat', method: 'POST', url: '/llm/chat/completions', body: BODIES['post /llm/chat/completions'], on: closed },
    );

    const compile = schemaValidator();
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const exchange of exchanges) {
      exchange.arrange?.();
      const response = (await call(exchange.on ?? own, exchange.method, exchange.url, {
        principal: exchange.as === undefined ? admin : exchange.as,
        ...(exchange.body !== undefined && { body: exchange.body }),
        ...(exchange.rawBody !== undefined && { rawBody: exchange.rawBody }),
        ...(exchange.contentType && { contentType: exchange.contentType }),
      }))!;
      const path = pathOf(exchange.url);
      const operation = document.paths[path]?.[exchange.method.toLowerCase()] as Record<string, any> | undefined;
      const responses = (operation ?? Object.values(document.paths[path]!)[0]!).responses as Record<string, any>;
      const said = `${exchange.label} → ${response.status} ${response.text.slice(0, 200)}`;
      const listed = operation ? responses[String(response.status)] : undefined;
      if (operation && !listed && response.status < 500) {
        problems.push(`${said}: a status ${operation.operationId} does not list`);
        continue;
      }
      const answered = listed ?? responses.default;
      const code = (response.json as { error?: { code?: string } } | undefined)?.error?.code;
      if (operation && listed) seen.add(`${exchange.method} ${path} ${response.status}${code ? ` ${code}` : ''}`);
      if (listed && code && !codesOf(listed).includes(code)) problems.push(`${said}: ${code}, a code ${response.status} does not name`);
      const mediaType = response.headers['content-type']!.split(';')[0]!.trim();
      const content = answered.content?.[mediaType] as { schema: JsonSchema } | undefined;
      if (!content) {
        problems.push(`${said}: ${mediaType}, which the document does not give for it`);
        continue;
      }
      const accepts = compile(content.schema);
      const values = mediaType === 'text/event-stream' ? response.events.map((data) => ({ data })) : [response.json];
      for (const value of values) if (!accepts(value)) problems.push(`${said}: the schema refuses it: ${JSON.stringify(accepts.errors)}`);
      // Every header of the API the answer carries, the response names; every one it says is always sent, is.
      const named = headersOf(answered);
      for (const name of Object.keys(response.headers)) {
        if (!TRANSPORT_HEADERS.has(name) && !named[name]) problems.push(`${said}: a header the response does not name: ${name}`);
      }
      for (const [name, header] of Object.entries(named)) {
        if (header.required === true && response.headers[name] === undefined) problems.push(`${said}: no ${name}, which is required`);
      }
    }
    mock.rejectKeys.delete(rejected);
    await own.close();

    expect(problems).toEqual([]);
    // Every status of every operation, with each code it names, was answered for real: the document lists none
    // byokit never gives.
    const missing = operations().flatMap(({ method, path, operation }) =>
      Object.entries(operation.responses as Record<string, { description: string }>)
        .filter(([status]) => status !== 'default')
        .flatMap(([status, response]) => {
          const codes = Number(status) < 400 ? [''] : codesOf(response).map((code) => ` ${code}`);
          return codes.map((code) => `${method.toUpperCase()} ${path} ${status}${code}`);
        })
        .filter((entry) => !seen.has(entry)),
    );
    expect(missing).toEqual([]);
  }, 60_000);
});

describe("the document's request schemas and the routes' own agree on seeded values", () => {
  const chat = BODIES['post /llm/chat/completions'] as { messages: Array<{ role: string; content: string }> };
  const openAIChat = BODIES['post /openai/v1/chat/completions'] as object;
  /** Ranges the chat routes check, each just outside, on either chat route's body. */
  const outOfRange = [{ temperature: -1 }, { top_p: -0.1 }, { top_p: 1.5 }, { stop: '' }, { stop: Array(17).fill('x') }, { max_tokens: 0 }];
  /** Bodies at the edges the route schemas draw with refinements, for every route that takes a body. */
  const EDGES: unknown[] = [
    ...outOfRange.flatMap((fields) => [
      { ...chat, ...fields },
      { ...openAIChat, ...fields },
    ]),
    { ...openAIChat, messages: [{ role: 'developer', content: 'Be brief.' }] },
    { ...openAIChat, messages: [{ role: 'user', content: [{ type: 'text', text: 'a\ud800b' }] }] },
    {},
    { ...chat, messages: [{ role: 'system', content: 'Be brief.' }] },
    { ...chat, messages: [{ role: 'user', content: 'a\ud800b' }] },
    {
      ...chat,
      messages: [
        { role: 'user', content: 'x'.repeat(MAX_CONTENT_CHARACTERS / 2 + 1) },
        { role: 'user', content: 'x'.repeat(MAX_CONTENT_CHARACTERS / 2) },
      ],
    },
  ];

  /** Valid bodies, edges, and seeded mutations of both (`hostileJson`): the same values on every run. */
  function nearValues(valid: unknown): unknown[] {
    const random = seededRandom(Number(process.env.SEEDED_SEED ?? 7));
    const mutate = hostileJson(random);
    const bases = [valid, ...EDGES];
    return [
      ...bases,
      ...Array.from({ length: Number(process.env.SEEDED_COUNT ?? 400) }, (_, index) => mutate(bases[index % bases.length])),
    ];
  }

  it('each request body the document accepts, the route takes, and each it refuses, the route refuses with 422', async () => {
    // A byokit of its own: the values set and remove keys, add models and budgets, and call the mock providers.
    const providers = Object.fromEntries(Object.entries(mock.baseUrls).map(([provider, baseUrl]) => [provider, { baseUrl, retries: 0 }]));
    const { byokit: own } = await testByokit({
      providers,
      environment: { ANTHROPIC_API_KEY: systemKeys.anthropic, OPENAI_API_KEY: systemKeys.openai, GOOGLE_API_KEY: systemKeys.google },
    });
    const compile = schemaValidator();
    const disagreements: string[] = [];
    const counts = { stated: 0, tooLarge: 0, taken: 0, refused: 0 };
    for (const route of routes.filter((candidate) => candidate.body)) {
      const path = openApiPath(route.path);
      const key = `${route.method.toLowerCase()} ${path}`;
      expect(BODIES, `a valid body for ${key}`).toHaveProperty([key]);
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(PATH_VALUES[name]!));
      const operation = document.paths[path]![route.method.toLowerCase()] as Record<string, any>;
      const schema = operation.requestBody.content['application/json'].schema as JsonSchema;
      const accepts = compile(schema);
      // What JSON Schema cannot say, the document says in words: the route's own message, in the schema's text.
      const schemaText = JSON.stringify(document.components.schemas[String(schema.$ref).split('/').at(-1)!]);
      for (const near of nearValues(BODIES[key])) {
        // As it goes on the wire: a `__proto__` field the mutation set is the value's prototype, not a field.
        const value = JSON.parse(JSON.stringify(near)) as unknown;
        const byDocument = accepts(value);
        const response = await call(own, route.method, url, { principal: admin, body: value });
        // The size limit is in the request body's description, not its schema.
        if (response!.status === 413) {
          expect(operation.requestBody.description, key).toContain(`at most ${route.bodyLimitBytes} bytes`);
          counts.tooLarge++;
          continue;
        }
        // The body's schema refused it (in the contract's shape or OpenAI's), as against a later check of the
        // route's (a model's limits, a key's format), which the document lists as other answers.
        const message = String(response!.json?.error?.message);
        const refusal = 'The request body is not valid: ';
        const byRoute = !(response!.status === 422 && message.startsWith(refusal));
        const issues = byRoute
          ? []
          : message
              .slice(refusal.length)
              .split('; ')
              .map((issue) => issue.slice(issue.indexOf(': ') + 2));
        counts[byRoute ? 'taken' : 'refused']++;
        if (byDocument && !byRoute && issues.every((issue) => saysInWords(schemaText, issue))) {
          counts.stated++;
          continue;
        }
        if (byDocument !== byRoute) {
          const why = byRoute ? `${JSON.stringify(accepts.errors?.[0])}; the route: ${response!.status}` : message;
          disagreements.push(
            `${key} ${JSON.stringify(value).slice(0, 200)}: the document says ${byDocument}, the route ${byRoute}: ${why}`,
          );
        }
      }
    }
    await own.close();
    expect(disagreements).toEqual([]);
    // Both answers are common; the lone surrogate and the content limit are refused by the route, stated in words.
    expect(counts.taken).toBeGreaterThan(100);
    expect(counts.refused).toBeGreaterThan(100);
    expect(counts.stated).toBeGreaterThanOrEqual(2);
  }, 60_000);
});

describe("the document's parameters and the routes' own agree on seeded values", () => {
  /** Values a client may put in a query or a path segment (decoded): valid ones of every route, and edges. */
  const VALUES = [
    ...['', ' ', '0', '1', '7', '007', '100', '101', '999', '-1', '1e2', 'true', 'false', 'TRUE', 'yes'],
    ...['anthropic', 'openai', 'google', 'mistral', 'day', 'model', 'provider', 'key_source', 'user', '__proto__'],
    ...['2026-11-01', '2026-02-29', '2024-02-29', '1969-12-31', '1970-01-01', '0000-01-01', '9999-12-31', '2026-13-01'],
    ...[
      '2026-11-25T12:00:00Z',
      '2026-11-25T12:00:00+14:00',
      '2026-11-25T12:00:00',
      '2026-11-25T12:00:00.123456789Z',
      '1969-12-31T23:59:59Z',
    ],
    ...[
      GUIDE_MODEL_ID,
      GUIDE_MODEL_ID.toUpperCase(),
      '00000000-0000-0000-0000-000000000000',
      'not-a-uuid',
      'user-alice',
      'claude-sonnet-4-5',
    ],
    ...['x'.repeat(200), 'x'.repeat(201), 'x'.repeat(257), '\u0000', 'a\u0000b', 'é', 'a b', 'AAAA'],
  ];
  /** Names no route takes, beside each route's own. */
  const OTHER_NAMES = ['extra', '__proto__', 'groupBy', 'user_id', 'provder'];

  it('each query and path the document accepts, the route accepts, and each it refuses, the route refuses', () => {
    const compile = schemaValidator();
    const random = seededRandom(Number(process.env.SEEDED_SEED ?? 11));
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
    const disagreements: string[] = [];
    let compared = 0;
    for (const route of routes) {
      const operation = document.paths[openApiPath(route.path)]![route.method.toLowerCase()] as Record<string, any>;
      const operationText = JSON.stringify(operation);
      for (const where of ['query', 'path'] as const) {
        const schema = where === 'query' ? route.query : route.params;
        if (!schema) continue;
        const parameters = (
          (operation.parameters ?? []) as Array<{ name: string; in: string; required: boolean; schema: JsonSchema }>
        ).filter((parameter) => parameter.in === where);
        const checks = new Map(parameters.map((parameter) => [parameter.name, compile(parameter.schema)]));
        const names = [...checks.keys(), ...(where === 'query' ? OTHER_NAMES : [])];
        for (let count = 0; count < Number(process.env.SEEDED_COUNT ?? 300); count++) {
          const input: Record<string, string> = {};
          for (const parameter of parameters) if (parameter.required || random() < 0.5) input[parameter.name] = pick(VALUES);
          if (where === 'query' && random() < 0.2) input[pick(names)] = pick(VALUES);
          // OpenAPI does not say whether a name it does not list is taken: the document accepts it.
          const byDocument =
            parameters.every((parameter) => !parameter.required || parameter.name in input) &&
            Object.entries(input).every(([name, value]) => checks.get(name)?.(value) ?? true);
          const byRoute = schema.safeParse(input);
          compared++;
          // What the document cannot say, it says in words: the route's own message, in the operation's text; a
          // name it does not list, in the sentence the document gives a strict query.
          const stated = (issue: z.core.$ZodIssue) =>
            issue.code === 'unrecognized_keys'
              ? String(operation.description).includes('Query parameters other than those listed are refused')
              : saysInWords(operationText, issue.message);
          if (byDocument && !byRoute.success && byRoute.error.issues.every(stated)) continue;
          if (byDocument !== byRoute.success) {
            const why = byRoute.success ? '' : byRoute.error.issues.map((issue) => issue.message).join('; ');
            disagreements.push(
              `${route.method} ${route.path} ${where} ${JSON.stringify(input)}: the document says ${byDocument}, the route ${byRoute.success}: ${why}`,
            );
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
    expect(disagreements).toEqual([]);
  });
});

describe('contract: every answer to the seeded hostile requests is one the document lists', () => {
  /**
   * The document path a request path falls under, matched as the handler matches (a trailing slash optional,
   * segments compared as sent, a parameter any non-empty segment); `undefined` where none does.
   */
  const documentedPath = (doc: OpenApiDocument, path: string) => {
    const trimmed = (text: string) => (text.length > 1 && text.endsWith('/') ? text.slice(0, -1) : text);
    const parts = trimmed(path).split('/');
    return Object.keys(doc.paths).find((candidate) => {
      const segments = trimmed(candidate).split('/');
      return (
        segments.length === parts.length &&
        segments.every((segment, index) => (/^\{.+\}$/.test(segment) ? parts[index] !== '' : segment === parts[index]))
      );
    });
  };

  it('answers each with a status its operation lists, in a media type and schema the document gives for it', async () => {
    const prefix = '/v2';
    const side = await startSide({ keyring: randomKeyring(), environment: ENVIRONMENT, prefix });
    try {
      const own = await sendToCore(side.byokit, prefix, {
        method: 'GET',
        url: `${prefix}/openapi.json`,
        as: 'anonymous',
        requestId: 'doc',
      });
      const doc = JSON.parse(own!.pieces.join('')) as OpenApiDocument;
      const compile = schemaValidator(doc);
      const seen = new Set<string>();
      for (const { exchange, arrange } of seededExchanges(prefix)) {
        const request = described(exchange);
        arrange?.(side);
        const answer = await sendToCore(side.byokit, prefix, exchange);
        const below = exchange.url.slice(prefix.length).split('?')[0]!;
        const path = documentedPath(doc, below);
        // byokit answers exactly the paths the document has, and leaves every other to the host.
        if (answer !== undefined) expect(path, `${request}: answered ${answer.status}, yet the document has no such path`).toBeDefined();
        if (answer === undefined) {
          expect(path, `${request}: the document has this path, yet byokit left it to the host`).toBeUndefined();
          continue;
        }
        const body = answer.pieces.join('');
        expect(answer.headers['x-request-id'], request).toBeDefined();
        const item = doc.paths[path!]!;
        // HEAD is answered as the path's GET, without a body, as the document's description says.
        const isHead = exchange.method === 'HEAD';
        const method = isHead ? 'get' : (exchange.method.toLowerCase() as (typeof METHODS)[number]);
        const operation = item[method] as Record<string, any> | undefined;
        if (isHead) expect(body, `${request}: a HEAD answer has no body`).toBe('');
        if (operation === undefined) {
          // A method the path lacks: the \`default\` response's 405, naming the methods the document gives the path
          // (and HEAD beside GET).
          const allowed = METHODS.filter((method) => item[method]).flatMap((method) =>
            method === 'get' ? ['GET', 'HEAD'] : [method.toUpperCase()],
          );
          if (isHead) {
            expect([answer.status, answer.headers.allow?.split(', ').sort()], request).toEqual([405, allowed.sort()]);
            continue;
          }
          const code = (JSON.parse(body) as { error: { code: string } }).error.code;
          expect([answer.status, code, answer.headers.allow?.split(', ').sort()], request).toEqual([
            405,
            'method_not_allowed',
            allowed.sort(),
          ]);
          const someOperation = item[METHODS.find((method) => item[method])!] as Record<string, any>;
          expect(compile(someOperation.responses.default.content['application/json'].schema)(JSON.parse(body)), request).toBe(true);
          continue;
        }
        seen.add(`${method.toUpperCase()} ${path} ${answer.status}`);
        const listed = operation.responses[String(answer.status)];
        expect(
          listed,
          `${request}: answered ${answer.status}, which ${operation.operationId} does not list: ${body.slice(0, 300)}`,
        ).toBeDefined();
        if (answer.status === 429) expect(answer.headers['retry-after'], request).toMatch(/^\d+$/);
        const mediaType = answer.headers['content-type']!.split(';')[0]!.trim();
        const content = listed.content?.[mediaType] as { schema: JsonSchema } | undefined;
        expect(
          content,
          `${request}: answered ${mediaType}, which ${operation.operationId} does not give for ${answer.status}`,
        ).toBeDefined();
        if (isHead) continue;
        const accepts = compile(content!.schema);
        const values = mediaType === 'text/event-stream' ? sseEvents(body).map((data) => ({ data })) : [JSON.parse(body) as unknown];
        for (const value of values)
          expect(accepts(value), `${request}: ${JSON.stringify(accepts.errors)}: ${body.slice(0, 300)}`).toBe(true);
      }
      // The requests reach most operations, with successes and refusals alike: the check above is not vacuous.
      expect(new Set([...seen].map((entry) => entry.split(' ').slice(0, 2).join(' '))).size).toBeGreaterThan(operations(doc).length / 2);
      expect([...seen].filter((entry) => / [45]\d\d$/.test(entry)).length).toBeGreaterThan(20);
    } finally {
      await side.close();
    }
  }, 60_000);
});

describe('openApiDocument', () => {
  it('degrades schemas JSON Schema cannot say (transforms, refinements, custom checks, dates, cycles) and never throws', async () => {
    type Tree = { name: string; children: Tree[] };
    const tree: z.ZodType<Tree> = z.lazy(() => z.object({ name: z.string(), children: z.array(tree) }));
    const odd = defineRoute({
      method: 'POST',
      path: '/odd/:thing_id/things',
      access: 'admin',
      summary: 'An odd route.',
      params: z.object({ thing_id: z.string().transform(Number) }),
      query: z.object({ when: z.string().transform((text) => new Date(text)), n: z.coerce.number().optional() }),
      body: z
        .object({ at: z.date(), big: z.bigint(), custom: z.custom<string>((value) => typeof value === 'string'), tree })
        .refine(() => true),
      bodyLimitBytes: 1024,
      response: z.object({ at: z.date(), length: z.string().transform((text) => text.length), tree }),
      handle: async () => ({ body: {} }),
    });
    const sharedId = z.string().meta({ id: 'SharedId' });
    const twice = defineRoute({
      method: 'GET',
      path: '/twice',
      access: 'user',
      summary: 'A schema given an id of its own, used twice.',
      response: z.object({ first: sharedId, second: z.array(sharedId) }),
      handle: async () => ({ body: {} }),
    });
    // Two schemas claiming one id: zod refuses to convert them together, so each route's schemas are converted
    // alone, and the one holding both says only that it is not representable.
    const clash = defineRoute({
      method: 'PUT',
      path: '/clash',
      access: 'user',
      summary: 'Two schemas with one id.',
      body: z.object({ a: z.string().meta({ id: 'Clash' }), b: z.number().meta({ id: 'Clash' }) }),
      bodyLimitBytes: 1024,
      response: z.object({ ok: z.boolean() }),
      handle: async () => ({ body: { ok: true } }),
    });
    expect(() => openApiDocument([odd, twice, clash])).not.toThrow();
    const clashing = openApiDocument([odd, twice, clash]);
    expect((await validateOpenApi(clashing)).errors ?? []).toEqual([]);
    expect(clashing.components.schemas.PutClashRequest).toEqual({ description: expect.stringContaining('Not representable') });
    expect(clashing.components.schemas.PutClashResponse).toMatchObject({ type: 'object' });
    expectEverySchemaCompiles(clashing);

    const doc = openApiDocument([odd, twice]);
    const result = await validateOpenApi(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(doc.paths['/odd/{thing_id}/things']!.post!.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'thing_id', in: 'path', required: true })]),
    );
    expectEverySchemaCompiles(doc);
  });
});
