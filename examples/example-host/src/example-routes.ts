import { scrubSecrets, type Principal } from '@byokit/core';
import { z } from 'zod';
import { emailSchema, passwordSchema, PASSWORD_MAX_LENGTH } from './account-rules.js';
import { LoginThrottle } from './login-throttle.js';
import type { AccessTokens } from './tokens.js';
import type { UserDirectory } from './users.js';

/** Request headers as Node gives them (lower-case names), whichever framework read them. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** An answer of the example's own routes; each framework writes it as JSON. */
export interface ExampleAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** The largest body the example's own routes read (signup, login). */
export const OWN_ROUTE_BODY_LIMIT_BYTES = 8 * 1024;

// Text that goes into PostgreSQL, whose `text` cannot hold a NUL (U+0000): refused with 422, not a 500.
const withoutNul = (text: z.ZodString) => text.regex(/^[^\u0000]*$/, 'The text holds a NUL character (U+0000).');

const signupBody = z.strictObject(
  {
    email: emailSchema,
    password: passwordSchema,
    // Well-formed too: PostgreSQL's UTF-8 stores a lone surrogate (`"\ud83d"`) as U+FFFD, so the name was saved and
    // shown changed; refused instead, as byokit's routes refuse such text.
    full_name: withoutNul(
      z.string({ error: 'The full name is text, or null.' }).max(255, { error: 'The full name has at most 255 characters.' }),
    )
      .refine((name) => name.isWellFormed(), 'The full name must be well-formed Unicode (no lone surrogates).')
      .nullable()
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'Unknown field: signup takes only email, password, full_name.'
        : issue.code === 'invalid_type' && !issue.path?.length
          ? 'Send a JSON object: { "email", "password", "full_name"? }.'
          : undefined,
  },
);

const LOGIN_FIELDS = { error: 'Send username (your email) and password as form fields.' };
const loginForm = z.object({
  username: withoutNul(z.string(LOGIN_FIELDS).min(1, LOGIN_FIELDS).max(254, { error: 'A username has at most 254 characters.' })),
  password: z
    .string(LOGIN_FIELDS)
    .min(1, LOGIN_FIELDS)
    .max(PASSWORD_MAX_LENGTH, { error: `A password has at most ${PASSWORD_MAX_LENGTH} characters.` }),
});

/**
 * The example's own routes, without a framework: each takes what the framework parsed (a JSON body, a form)
 * and the request id, and returns the answer. The frameworks check the media type and parse the body within
 * {@link OWN_ROUTE_BODY_LIMIT_BYTES} first, and answer their parsers' refusals with {@link bodyRefusal}.
 */
export class ExampleRoutes {
  constructor(
    private readonly users: UserDirectory,
    private readonly tokens: AccessTokens,
    private readonly authenticate: (headers: RequestHeaders) => Promise<Principal | null>,
    private readonly throttle = new LoginThrottle(),
  ) {}

  /** `POST /users/signup`, JSON `{ email, password, full_name? }` → the user (no password, no hash). */
  async signup(body: unknown, requestId: string): Promise<ExampleAnswer> {
    const input = parse(signupBody, body, requestId);
    if (!input.ok) return input.answer;
    const { email, password, full_name } = input.value;
    const user = await this.users.create({ email, password, fullName: full_name ?? null });
    if (!user) return errorAnswer(409, 'email_taken', 'A user with this email already exists.', requestId);
    return success(user);
  }

  /** `POST /login/access-token`, form `username`, `password` → a bearer token. */
  async login(form: unknown, requestId: string): Promise<ExampleAnswer> {
    const input = parse(loginForm, form, requestId);
    if (!input.ok) return input.answer;
    const { username, password } = input.value;
    // Counted before the password is hashed, an unknown email as a known one: the answer names no account.
    const wait = this.throttle.attempt(username);
    if (wait > 0) {
      const answer = errorAnswer(429, 'rate_limited', `Too many failed logins for this account: try again in ${wait} s.`, requestId);
      return { ...answer, headers: { ...answer.headers, 'retry-after': String(wait) } };
    }
    const user = await this.users.authenticate(username, password);
    if (!user) return errorAnswer(400, 'invalid_credentials', 'Incorrect email or password.', requestId);
    this.throttle.succeeded(username);
    const token = { access_token: await this.tokens.issue(user.id), token_type: 'bearer' };
    // RFC 6749 §5.1: a response with a token carries Pragma: no-cache too, for HTTP/1.0 caches.
    return { ...success(token), headers: { ...NEVER_STORED, pragma: 'no-cache' } };
  }

  /** `GET /users/me` → who the bearer token belongs to. */
  async me(headers: RequestHeaders, requestId: string): Promise<ExampleAnswer> {
    const principal = await this.authenticate(headers);
    const user = principal && (await this.users.find(principal.userId));
    if (!user) {
      // The challenge RFC 9110 §11.6.1 asks of a 401, as byokit's own 401 carries it.
      const refused = errorAnswer(401, 'unauthenticated', 'Sign in first: send a valid access token.', requestId);
      return { ...refused, headers: { ...refused.headers, 'www-authenticate': 'Bearer' } };
    }
    return success(user);
  }
}

/**
 * Every answer of the example's own routes is about one user (a token, who they are): no cache may keep it, as byokit's
 * own answers say. And, as theirs, nosniff: a browser is not to take the JSON for another type.
 */
const NEVER_STORED = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

function success(body: unknown): ExampleAnswer {
  return { status: 200, headers: { ...NEVER_STORED }, body };
}

/** An error in the contract's shape (spec/http-api.md, errors), never cached. */
export function errorAnswer(
  status: number,
  code: string,
  message: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): ExampleAnswer {
  return { status, headers: { ...NEVER_STORED }, body: { error: { code, message, ...extra, request_id: requestId } } };
}

/** What a framework's body parser may refuse, whichever framework it is. */
export type BodyRefusal = 'invalid_json' | 'payload_too_large' | 'unsupported_encoding';

/** A body parser's refusal in the contract's shape, the same words on every example server. */
export function bodyRefusal(refusal: BodyRefusal, requestId: string): ExampleAnswer {
  switch (refusal) {
    case 'invalid_json':
      return errorAnswer(400, 'invalid_json', 'The request body is not valid JSON.', requestId);
    case 'payload_too_large':
      return errorAnswer(413, 'payload_too_large', 'The request body is too large.', requestId);
    case 'unsupported_encoding':
      return errorAnswer(415, 'unsupported_media_type', 'Unsupported body encoding.', requestId);
    default: {
      const _exhaustive: never = refusal;
      return _exhaustive;
    }
  }
}

/** The answer to a body of the wrong media type on one of the example's routes. */
export function wrongMediaType(expected: string, requestId: string): ExampleAnswer {
  return errorAnswer(415, 'unsupported_media_type', `Send the body as ${expected}.`, requestId);
}

/** The answer to a path below the prefix that nothing has a route for. */
export function notFound(requestId: string): ExampleAnswer {
  return errorAnswer(404, 'not_found', 'No such route.', requestId);
}

/** Anything else that went wrong: logged by the caller with the request id, answered with nothing more. */
export function internalError(requestId: string): ExampleAnswer {
  return errorAnswer(500, 'internal_error', 'Internal error. Quote the request id if you report it.', requestId);
}

/** True when a Content-Type header names `type` (parameters such as charset aside). */
export function hasMediaType(contentType: string | string[] | undefined, type: string): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value?.split(';')[0]?.trim().toLowerCase() === type;
}

/**
 * The answer to a body of the right media type in a charset other than UTF-8 (`charset=latin1`), or null: the
 * example's own routes read UTF-8 only, on every framework (body-parser refused some charsets and Fastify none).
 */
export function otherCharset(contentType: string | string[] | undefined, requestId: string): ExampleAnswer | null {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(value ?? '')?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf-8' ? null : bodyRefusal('unsupported_encoding', requestId);
}

/**
 * The answer to a body sent with a content coding (`Content-Encoding: gzip`), or null: the example's own routes read
 * the bytes as sent, on every framework, and say so (RFC 9110 §8.4.1) rather than read gzip as JSON (Fastify's
 * parser did) or inflate it (body-parser did, and answered a body that was not gzip after all with a 500).
 */
export function otherContentCoding(contentEncoding: string | string[] | undefined, requestId: string): ExampleAnswer | null {
  const value = (Array.isArray(contentEncoding) ? contentEncoding.join(',') : (contentEncoding ?? '')).trim().toLowerCase();
  return value === '' || value === 'identity' ? null : bodyRefusal('unsupported_encoding', requestId);
}

function parse<T>(schema: z.ZodType<T>, input: unknown, requestId: string): { ok: true; value: T } | { ok: false; answer: ExampleAnswer } {
  const result = schema.safeParse(input ?? {});
  if (result.success) return { ok: true, value: result.data };
  // An unknown field named at the end of its path, as byokit's own issues name it: the caller's text, which may be a
  // key pasted in the wrong place.
  const issues = result.error.issues.map((issue) => ({
    path: scrubSecrets([...issue.path, ...(issue.code === 'unrecognized_keys' ? [issue.keys.join(',')] : [])].map(String).join('.')),
    message: scrubSecrets(issue.message),
  }));
  // One sentence naming each field, as byokit's own refusals read.
  const summary = issues.map((issue) => `${issue.path || 'body'}: ${issue.message.replace(/\.$/, '')}`).join('; ');
  return { ok: false, answer: errorAnswer(422, 'validation_failed', `The request body is not valid: ${summary}.`, requestId, { issues }) };
}
