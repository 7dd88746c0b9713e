// The requests the suite sends through every adapter, in order: each one's answer is compared, byte for byte,
// with core's answer to the same request on a byokit in the same state. Later scenarios build on the state
// earlier ones left (keys set, models added, calls metered), as a user's session would.
import { BUILT_IN_MODELS, USER_GUIDE_SONNET_4_5_ID } from '../../catalog/built-in-models.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import type { Provider } from '../../keys/providers.js';
import { CHAT_BODY_LIMIT_BYTES } from '../../http/routes/chat-routes.js';
import { KEY_BODY_LIMIT_BYTES } from '../../http/routes/key-routes.js';
import { PRINCIPALS, type Caller, type Side } from './world.js';

/** One request and the status every adapter must answer it with. */
export interface Scenario {
  /** What the caller observes: the test's name. */
  name: string;
  method: string;
  /** Below the mount prefix, with the query. */
  path: string;
  as: Caller;
  /** A body to send as JSON (`application/json` unless `contentType` says otherwise). */
  json?: unknown;
  /** A body to send exactly as written. */
  text?: string;
  /** The body's Content-Type; `null` sends none. */
  contentType?: string | null;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
  /** An `Accept` header to send; left out, the client's own (fetch sends any type). */
  accept?: string;
  /** An `x-request-id` to send instead of the scenario's own sane one. */
  requestId?: string;
  /** The status expected: checked too, so that a scenario cannot quietly test something else. */
  status: number;
  /** What the request meets, set up on each side just before it is sent there (a provider failure…). */
  arrange?(side: Side): void;
}

/** The first built-in model that passes `test`; the suite needs one of each kind. */
function builtIn(description: string, test: (model: (typeof BUILT_IN_MODELS)[number]) => boolean) {
  const model = BUILT_IN_MODELS.find(test);
  if (model === undefined) throw new Error(`adapter conformance: the built-in catalog has no ${description}`);
  return model;
}

/** The guide's model (claude-sonnet-4-5): chat through Anthropic. */
export const ANTHROPIC_MODEL = builtIn('guide model', (model) => model.id === USER_GUIDE_SONNET_4_5_ID);
export const OPENAI_MODEL = builtIn('active OpenAI model', (model) => model.provider === 'openai' && model.isActive);
export const GOOGLE_MODEL = builtIn('active Google model', (model) => model.provider === 'google' && model.isActive);

/** A streamed chat on each chat route (the Anthropic model on byokit's, the OpenAI one on the OpenAI-compatible): the suites' long streams. */
export const STREAMED_CHATS: ReadonlyArray<{ route: string; provider: Provider; body: unknown }> = [
  {
    route: '/llm/chat/completions',
    provider: 'anthropic',
    body: { model_id: ANTHROPIC_MODEL.id, messages: [{ role: 'user', content: 'Hello!' }], stream: true },
  },
  {
    route: '/openai/v1/chat/completions',
    provider: 'openai',
    body: { model: OPENAI_MODEL.model, messages: [{ role: 'user', content: 'Hello!' }], stream: true },
  },
];
const CHAT_MODELS: Record<Provider, { id: string; model: string }> = {
  anthropic: ANTHROPIC_MODEL,
  openai: OPENAI_MODEL,
  google: GOOGLE_MODEL,
};
/** A model that leaves `temperature` out (x-byok-ignored-parameters). */
const IGNORES_TEMPERATURE = builtIn('model ignoring temperature', (model) => model.ignoredParameters?.includes('temperature') === true);
/** A model an admin deactivates, then a user asks for. */
const TO_DEACTIVATE = builtIn(
  'second Anthropic model',
  (model) => model.provider === 'anthropic' && model.isActive && model.id !== ANTHROPIC_MODEL.id && model.id !== IGNORES_TEMPERATURE.id,
);
/** A UUID no model has. */
const UNKNOWN_MODEL_ID = '00000000-0000-4000-8000-000000000000';

/** Fake keys in each provider's real format; made once, so both sides of a comparison get the same. */
const USER_KEYS: Readonly<Record<Provider, string>> = {
  anthropic: fakeProviderKey('anthropic'),
  openai: fakeProviderKey('openai'),
  google: fakeProviderKey('google'),
};
const OTHER_USER_GOOGLE_KEY = fakeProviderKey('google');
const SYSTEM_KEYS = { anthropic: fakeProviderKey('anthropic'), google: fakeProviderKey('google') };
/** The system key for OpenAI comes from the environment (`OPENAI_API_KEY`). */
export const ENVIRONMENT = { OPENAI_API_KEY: fakeProviderKey('openai') };
/** A key the providers refuse (`?verify=true` → 422). */
const REFUSED_KEY = fakeProviderKey('openai');

/** Every key the scenarios send: none may come back, in any form, in any answer or log line (leak-check.ts). */
export const CANARY_KEYS: readonly string[] = [
  ...Object.values(USER_KEYS),
  OTHER_USER_GOOGLE_KEY,
  ...Object.values(SYSTEM_KEYS),
  ...Object.values(ENVIRONMENT),
  REFUSED_KEY,
];

const hello = (provider: Provider, extra: Record<string, unknown> = {}) => ({
  model_id: CHAT_MODELS[provider].id,
  messages: [{ role: 'user', content: 'Hello!' }],
  max_tokens: 256,
  ...extra,
});
const openAIHello = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'Hello!' }],
  ...extra,
});
/** A JSON text of `bytes` bytes: a valid body, padded with whitespace after the object. */
const padded = (value: unknown, bytes: number) => {
  const text = JSON.stringify(value);
  return text + ' '.repeat(Math.max(0, bytes - text.length));
};
const newModel = {
  provider: 'openai',
  model: 'conformance-model',
  display_name: 'Conformance',
  context_window: 1000,
  max_output_tokens: 100,
  pricing: { input_per_mtok_usd: '1', output_per_mtok_usd: '2' },
};

/** Every scenario, in the order sent. */
export const SCENARIOS: readonly Scenario[] = [
  // --- Discovery ---------------------------------------------------------------------------------------
  { name: 'anyone reads the API description', method: 'GET', path: '/openapi.json', as: 'anonymous', status: 200 },
  { name: 'the API description is read-only', method: 'POST', path: '/openapi.json', as: 'anonymous', json: {}, status: 405 },

  // --- Personal keys -----------------------------------------------------------------------------------
  { name: 'a new user sees no personal key', method: 'GET', path: '/users/me/api-key-status', as: 'user', status: 200 },
  { name: 'nobody signed in is refused', method: 'GET', path: '/users/me/api-key-status', as: 'anonymous', status: 401 },
  {
    name: 'a user sets a key for every provider',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { anthropic_api_key: USER_KEYS.anthropic, openai_api_key: USER_KEYS.openai, google_api_key: USER_KEYS.google },
    status: 200,
  },
  {
    name: 'a key the provider accepts is saved as valid',
    method: 'PATCH',
    path: '/users/me/api-key?verify=true',
    as: 'user',
    json: { openai_api_key: USER_KEYS.openai },
    status: 200,
  },
  {
    name: 'a key the provider refuses is not saved',
    method: 'PATCH',
    path: '/users/me/api-key?verify=true',
    as: 'user',
    json: { openai_api_key: REFUSED_KEY },
    status: 422,
    arrange: (side) => void side.mock.rejectKeys.add(REFUSED_KEY),
  },
  {
    name: "another provider's key format is refused",
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { anthropic_api_key: USER_KEYS.openai },
    status: 422,
  },
  {
    name: 'a placeholder key is refused',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { anthropic_api_key: 'sk-ant-api03-YOUR-REAL-KEY-HERE' },
    status: 422,
  },
  {
    name: 'a key with whitespace inside is refused without being echoed',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { anthropic_api_key: `${USER_KEYS.anthropic.slice(0, 50)} ${USER_KEYS.anthropic.slice(50)}` },
    status: 422,
  },
  {
    name: 'a key sent as a field name is refused without being echoed',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { [USER_KEYS.openai]: 'x' },
    status: 422,
  },
  {
    name: 'a field that claims an owner is refused',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { user_id: PRINCIPALS.otherUser.userId, openai_api_key: null },
    status: 422,
  },
  { name: 'malformed JSON is refused', method: 'PATCH', path: '/users/me/api-key', as: 'user', text: '{"openai_api_key": ', status: 400 },
  { name: 'an empty body is refused', method: 'PATCH', path: '/users/me/api-key', as: 'user', text: '', status: 400 },
  {
    name: 'a body that is not JSON is refused',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    text: '{}',
    contentType: 'text/plain',
    status: 415,
  },
  // The media type's parameters are not read: JSON has no charset parameter, and one "has no effect on compliant
  // recipients" (RFC 8259 §11). These bodies are read, and refused for their field (422), not their media type (415).
  ...['application/json; charset=UTF-8', 'application/json;charset=latin1'].map((contentType): Scenario => ({
    name: `a JSON body sent as ${contentType} is read as UTF-8 JSON, its charset ignored`,
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { user_id: PRINCIPALS.otherUser.userId },
    contentType,
    status: 422,
  })),
  {
    name: 'a JSON body sent as another JSON-based media type (application/merge-patch+json) is refused',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    json: { openai_api_key: null },
    contentType: 'application/merge-patch+json',
    status: 415,
  },
  {
    name: 'a body without Content-Type is refused',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    text: '{}',
    contentType: null,
    status: 415,
  },
  {
    name: 'a malformed Content-Type is refused by byokit, not the framework',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    text: '{}',
    contentType: 'text/plain;;;',
    status: 415,
  },
  {
    name: 'auth is checked before the media type',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'anonymous',
    text: '{}',
    contentType: 'garbage',
    status: 401,
  },
  {
    name: "a body over the key routes' limit is refused",
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    text: padded({ openai_api_key: null }, KEY_BODY_LIMIT_BYTES + 1),
    status: 413,
  },
  {
    name: "a body over the key routes' limit, sent without Content-Length, is refused",
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'user',
    text: padded({ openai_api_key: null }, KEY_BODY_LIMIT_BYTES + 1),
    chunked: true,
    status: 413,
  },
  {
    name: 'a method the path lacks is refused, naming the allowed ones',
    method: 'PUT',
    path: '/users/me/api-key-status',
    as: 'user',
    status: 405,
  },
  { name: 'OPTIONS is a method byokit does not answer', method: 'OPTIONS', path: '/users/me/api-key', as: 'user', status: 405 },
  {
    name: 'an insane x-request-id is replaced by a fresh one',
    method: 'GET',
    path: '/users/me/api-key-status',
    as: 'user',
    requestId: 'has spaces',
    status: 200,
  },
  {
    name: 'the other user sets a key of their own',
    method: 'PATCH',
    path: '/users/me/api-key',
    as: 'otherUser',
    json: { google_api_key: OTHER_USER_GOOGLE_KEY },
    status: 200,
  },
  {
    name: 'the other user removes one key',
    method: 'DELETE',
    path: '/users/me/api-key?provider=google',
    as: 'otherUser',
    status: 200,
  },
  { name: 'the other user removes all their keys', method: 'DELETE', path: '/users/me/api-key', as: 'otherUser', status: 200 },
  { name: 'an unknown provider cannot be removed', method: 'DELETE', path: '/users/me/api-key?provider=nope', as: 'user', status: 422 },

  // --- System keys -------------------------------------------------------------------------------------
  { name: 'an admin sees the environment key', method: 'GET', path: '/admin/api-key-status', as: 'admin', status: 200 },
  { name: 'a user cannot see system keys', method: 'GET', path: '/admin/api-key-status', as: 'user', status: 403 },
  {
    name: 'an admin sets system keys',
    method: 'PATCH',
    path: '/admin/api-key',
    as: 'admin',
    json: { anthropic_api_key: SYSTEM_KEYS.anthropic, google_api_key: SYSTEM_KEYS.google },
    status: 200,
  },
  {
    name: 'a user cannot set system keys',
    method: 'PATCH',
    path: '/admin/api-key',
    as: 'user',
    json: { google_api_key: SYSTEM_KEYS.google },
    status: 403,
  },
  { name: 'an admin removes one system key', method: 'DELETE', path: '/admin/api-key?provider=anthropic', as: 'admin', status: 200 },
  { name: 'a user cannot remove system keys', method: 'DELETE', path: '/admin/api-key', as: 'user', status: 403 },

  // --- Models ------------------------------------------------------------------------------------------
  { name: 'a user lists the models they can use', method: 'GET', path: '/llm-models/', as: 'user', status: 200 },
  {
    name: 'a user filters the models (no trailing slash)',
    method: 'GET',
    path: '/llm-models?is_active=true&provider=anthropic',
    as: 'user',
    status: 200,
  },
  { name: 'the other user lists the models system keys open', method: 'GET', path: '/llm-models/', as: 'otherUser', status: 200 },
  { name: 'a user cannot list every model', method: 'GET', path: '/llm-models/?all=true', as: 'user', status: 403 },
  { name: 'an admin lists every model', method: 'GET', path: '/llm-models/?all=true', as: 'admin', status: 200 },
  {
    name: 'a client that accepts only XML gets the models as JSON (Accept is not read)',
    method: 'GET',
    path: '/llm-models/',
    as: 'user',
    accept: 'application/xml',
    status: 200,
  },
  { name: 'a malformed filter is refused', method: 'GET', path: '/llm-models/?is_active=maybe', as: 'user', status: 422 },
  { name: 'a user reads one model', method: 'GET', path: `/llm-models/${ANTHROPIC_MODEL.id}`, as: 'user', status: 200 },
  { name: 'an unknown model id is not found', method: 'GET', path: `/llm-models/${UNKNOWN_MODEL_ID}`, as: 'user', status: 404 },
  { name: 'a model id that is not a UUID is refused', method: 'GET', path: '/llm-models/not-a-uuid', as: 'user', status: 422 },
  { name: 'an admin adds a model', method: 'POST', path: '/llm-models/', as: 'admin', json: newModel, status: 201 },
  { name: 'the same model cannot be added twice', method: 'POST', path: '/llm-models', as: 'admin', json: newModel, status: 409 },
  { name: 'a user cannot add a model', method: 'POST', path: '/llm-models/', as: 'user', json: newModel, status: 403 },
  {
    name: 'a model that writes more than it reads is refused',
    method: 'POST',
    path: '/llm-models/',
    as: 'admin',
    json: { ...newModel, model: 'conformance-model-2', max_output_tokens: 2000 },
    status: 422,
  },
  {
    name: 'an admin renames a model',
    method: 'PATCH',
    path: `/llm-models/${ANTHROPIC_MODEL.id}`,
    as: 'admin',
    json: { display_name: 'Renamed by the conformance suite' },
    status: 200,
  },
  {
    name: 'an admin deactivates a model',
    method: 'PATCH',
    path: `/llm-models/${TO_DEACTIVATE.id}`,
    as: 'admin',
    json: { is_active: false },
    status: 200,
  },
  {
    name: 'an unknown model cannot be changed',
    method: 'PATCH',
    path: `/llm-models/${UNKNOWN_MODEL_ID}`,
    as: 'admin',
    json: { is_active: false },
    status: 404,
  },
  { name: 'models cannot be deleted', method: 'DELETE', path: '/llm-models/', as: 'admin', status: 405 },

  // --- Chat --------------------------------------------------------------------------------------------
  ...(['anthropic', 'openai', 'google'] as const).map((provider): Scenario => ({
    name: `a user chats with ${provider} on their own key`,
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello(provider),
    status: 200,
  })),
  ...(['anthropic', 'openai', 'google'] as const).map((provider): Scenario => ({
    name: `a user's answer from ${provider} streams chunk by chunk`,
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello(provider, { stream: true }),
    status: 200,
  })),
  {
    name: 'a client that accepts only server-sent events, without stream: true, gets one JSON answer (Accept is not read)',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('anthropic'),
    accept: 'text/event-stream',
    status: 200,
  },
  {
    name: 'the other user chats on the system key from the database',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'otherUser',
    json: hello('google'),
    status: 200,
  },
  {
    name: 'the other user chats on the system key from the environment',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'otherUser',
    json: hello('openai'),
    status: 200,
  },
  {
    name: 'without any key for the provider, a key is required',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'otherUser',
    json: hello('anthropic'),
    status: 400,
  },
  {
    name: 'a parameter the model does not take is left out, and said so',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: { ...hello('anthropic'), model_id: IGNORES_TEMPERATURE.id, temperature: 0.7 },
    status: 200,
  },
  {
    name: 'an inactive model is refused',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: { ...hello('anthropic'), model_id: TO_DEACTIVATE.id },
    status: 400,
  },
  {
    name: 'an unknown model is not found',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: { ...hello('anthropic'), model_id: UNKNOWN_MODEL_ID },
    status: 404,
  },
  {
    name: 'max_tokens over the model limit is refused',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('anthropic', { max_tokens: 10_000_000 }),
    status: 422,
  },
  {
    name: 'a base_url in the body is refused',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('openai', { base_url: 'http://169.254.169.254/' }),
    status: 422,
  },
  {
    name: 'nobody signed in cannot chat',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'anonymous',
    json: hello('anthropic'),
    status: 401,
  },
  {
    name: "the provider refusing the user's key is a clean 400",
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('anthropic'),
    status: 400,
    arrange: (side) => side.mock.failNext('anthropic', { status: 401 }),
  },
  {
    name: 'the provider refusing the key, echoing part of it, is a clean 400 that does not echo it',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('openai'),
    status: 400,
    arrange: (side) => side.mock.failNext('openai', { status: 401 }),
  },
  {
    name: "the provider's rate limit passes its Retry-After on",
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('openai'),
    status: 429,
    arrange: (side) => side.mock.failNext('openai', { status: 429, headers: { 'retry-after': '3' } }),
  },
  {
    name: 'a provider error is a 502',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('google'),
    status: 502,
    arrange: (side) => side.mock.failNext('google', { status: 500 }),
  },
  {
    name: 'a provider that is overloaded is unavailable',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('openai'),
    status: 502,
    arrange: (side) => side.mock.failNext('openai', { status: 503 }),
  },
  {
    name: 'a provider failing before the stream began is a clean HTTP error',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('anthropic', { stream: true }),
    status: 429,
    arrange: (side) => side.mock.failNext('anthropic', { status: 429, headers: { 'retry-after': '5' } }),
  },
  {
    name: 'a provider failing mid-stream ends the stream with an error event',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    json: hello('google', { stream: true }),
    status: 200,
    arrange: (side) => side.mock.streamErrorNext('google'),
  },
  {
    name: "byokit's own rate limit says when to retry",
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'rateLimitedUser',
    json: hello('google'),
    status: 429,
  },
  {
    name: 'an admin gives a user a tiny budget',
    method: 'PUT',
    path: `/admin/users/${encodeURIComponent(PRINCIPALS.budgetedUser.userId)}/budget`,
    as: 'admin',
    json: { monthly_limit_usd: '0.000001' },
    status: 200,
  },
  {
    name: 'a call that could pass the budget is refused before the provider',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'budgetedUser',
    json: hello('google'),
    status: 402,
  },
  {
    name: 'a chat body of 1.5 MiB is taken (within the 2 MiB chat limit)',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    text: padded(hello('anthropic'), 1.5 * 1024 * 1024),
    status: 200,
  },
  {
    name: 'a chat body over 2 MiB is refused',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    text: padded(hello('anthropic'), CHAT_BODY_LIMIT_BYTES + 1),
    status: 413,
  },
  // With Fastify's bodyLimit equal to the chat limit, the plugin's own check used to answer this one first, in
  // other words than core's. @see issue 6 (the adapter conformance suite)
  {
    name: 'a chat body over 2 MiB, sent without Content-Length, is refused',
    method: 'POST',
    path: '/llm/chat/completions',
    as: 'user',
    text: padded(hello('anthropic'), CHAT_BODY_LIMIT_BYTES + 1),
    chunked: true,
    status: 413,
  },

  // --- OpenAI-compatible surface -----------------------------------------------------------------------
  { name: "a user lists their models in OpenAI's format", method: 'GET', path: '/openai/v1/models', as: 'user', status: 200 },
  { name: "nobody signed in is refused in OpenAI's shape", method: 'GET', path: '/openai/v1/models', as: 'anonymous', status: 401 },
  { name: 'a user reads a model by name', method: 'GET', path: `/openai/v1/models/${ANTHROPIC_MODEL.model}`, as: 'user', status: 200 },
  { name: 'a user reads a model by UUID', method: 'GET', path: `/openai/v1/models/${ANTHROPIC_MODEL.id}`, as: 'user', status: 200 },
  {
    name: "a model the user cannot use is not found, in OpenAI's shape",
    method: 'GET',
    path: '/openai/v1/models/no-such-model',
    as: 'user',
    status: 404,
  },
  { name: "a method the path lacks is refused in OpenAI's shape", method: 'PUT', path: '/openai/v1/models', as: 'user', status: 405 },
  {
    name: "a user chats in OpenAI's format, by model name",
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    json: openAIHello(ANTHROPIC_MODEL.model),
    status: 200,
  },
  {
    name: 'an OpenAI-format answer streams chunk by chunk, with usage when asked',
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    json: openAIHello(ANTHROPIC_MODEL.model, { stream: true, stream_options: { include_usage: true } }),
    status: 200,
  },
  {
    name: 'an OpenAI-format answer streams without usage when not asked',
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    json: openAIHello(CHAT_MODELS.openai.model, { stream: true }),
    status: 200,
  },
  {
    // x-should-retry: false tells OpenAI's SDKs to raise the 429 at once: without it, the TypeScript client sleeps
    // the hour (http/error-response.ts).
    name: "a provider's wait past a minute tells OpenAI's clients not to retry",
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    json: openAIHello(CHAT_MODELS.openai.model),
    status: 429,
    arrange: (side) => side.mock.failNext('openai', { status: 429, headers: { 'retry-after': '3600' } }),
  },
  {
    name: "an unknown model is not found, in OpenAI's shape",
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    json: openAIHello('no-such-model'),
    status: 404,
  },
  {
    name: "a body that is not JSON is refused in OpenAI's shape",
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    text: '{}',
    contentType: 'text/plain',
    status: 415,
  },
  {
    name: "malformed JSON is refused in OpenAI's shape",
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'user',
    text: '{"model": ',
    status: 400,
  },
  {
    name: "nobody signed in cannot chat in OpenAI's format",
    method: 'POST',
    path: '/openai/v1/chat/completions',
    as: 'anonymous',
    json: openAIHello(ANTHROPIC_MODEL.model),
    status: 401,
  },

  // --- Usage -------------------------------------------------------------------------------------------
  { name: "a user sees this month's usage", method: 'GET', path: '/llm/usage/me', as: 'user', status: 200 },
  { name: 'a user sees usage by model', method: 'GET', path: '/llm/usage/me?group_by=model', as: 'user', status: 200 },
  { name: 'a user cannot group by user', method: 'GET', path: '/llm/usage/me?group_by=user', as: 'user', status: 422 },
  { name: 'a user sees their latest records', method: 'GET', path: '/llm/usage/me/events?limit=5', as: 'user', status: 200 },
  { name: 'a page size out of range is refused', method: 'GET', path: '/llm/usage/me/events?limit=0', as: 'user', status: 422 },
  { name: "an admin sees everyone's usage by user", method: 'GET', path: '/admin/usage?group_by=user', as: 'admin', status: 200 },
  { name: "a user cannot see everyone's usage", method: 'GET', path: '/admin/usage', as: 'user', status: 403 },

  // --- Budgets -----------------------------------------------------------------------------------------
  { name: 'a user without a budget sees none', method: 'GET', path: '/users/me/budget', as: 'user', status: 200 },
  { name: 'a user with a budget sees it', method: 'GET', path: '/users/me/budget', as: 'budgetedUser', status: 200 },
  {
    name: 'a user cannot set budgets',
    method: 'PUT',
    path: `/admin/users/${PRINCIPALS.user.userId}/budget`,
    as: 'user',
    json: { monthly_limit_usd: '1000' },
    status: 403,
  },
  {
    name: 'a budget that is not an amount is refused',
    method: 'PUT',
    path: `/admin/users/${encodeURIComponent(PRINCIPALS.budgetedUser.userId)}/budget`,
    as: 'admin',
    json: { monthly_limit_usd: '1e3' },
    status: 422,
  },
  {
    name: 'an admin removes a budget',
    method: 'PUT',
    path: `/admin/users/${encodeURIComponent(PRINCIPALS.budgetedUser.userId)}/budget`,
    as: 'admin',
    json: { monthly_limit_usd: null },
    status: 200,
  },

  // --- Personal keys, removed --------------------------------------------------------------------------
  {
    // A mount that rebuilds the query from a parsed object keeps one of the two, and removes that key alone.
    name: 'a provider named twice is refused, neither key removed',
    method: 'DELETE',
    path: '/users/me/api-key?provider=openai&provider=google',
    as: 'user',
    status: 422,
  },
  { name: 'a user removes one key', method: 'DELETE', path: '/users/me/api-key?provider=google', as: 'user', status: 200 },
  { name: 'a user removes all their keys', method: 'DELETE', path: '/users/me/api-key', as: 'user', status: 200 },
  { name: 'nobody signed in cannot remove keys', method: 'DELETE', path: '/users/me/api-key', as: 'anonymous', status: 401 },
];

/** Whether a scenario's answer is a stream of server-sent events. */
export const isStreamed = (scenario: Scenario) =>
  typeof scenario.json === 'object' && scenario.json !== null && (scenario.json as { stream?: unknown }).stream === true;
