/**
 * What a host passes to byokit's methods in code (`chat`, `chatStream`, `resolveKey`, `usage`, `forgetUser`), checked
 * as the routes check a request, before anything that costs, and refused as a `ByokitError` `validation_failed`:
 * plain JavaScript passes what the types would have refused.
 */
import { ByokitError } from './errors.js';
import type { ChatOptions } from './byokit.js';
import type { ForgetUserOptions } from './forget-user.js';
import type { ForgottenUsage, KeyWriteActor } from './storage/storage.js';
import type { ChatCallContext } from './chat/chat-service.js';
import { chatCompletionBody, type ChatCompletionRequest } from './chat/chat-schemas.js';
import { readableParse, schemaIssues, validationFailed } from './http/validation-error.js';
import { isSaneRequestId } from './http/headers.js';
import { isRequestAbort } from './http/request-abort.js';
import { USER_ID_RULE, userIdProblem } from './http/routes/stored-text.js';
import { isProvider, PROVIDERS, type Provider } from './keys/providers.js';
import { scrubSecrets } from './keys/scrub-secrets.js';
import { assertUsagePageLimit, MAX_USAGE_PAGE } from './metering/usage-record.js';
import type { UsageSummaryRequest } from './metering/usage-service.js';
import {
  isAbortSignal,
  isSettingsObject,
  kindOfOption,
  kindOfSignal,
  optionalSettingsShape,
  unknownSetting,
} from './host-option-checks.js';

/**
 * A programmatic call's context: its signal, and a request id of its own unless the caller gave one. Checked as the
 * route checks its headers, before anything that costs: plain JavaScript passed what fetch() takes, or mistyped it.
 * An AbortController in place of its signal failed deep inside as "The Anthropic API could not be reached", with an
 * `error` record of a call no provider saw; a signal in place of the options was ignored; a request id was kept as
 * given, a provider key in it written to the usage record, a NUL in it unwritable to PostgreSQL (the call unbilled).
 */
export function callContext(options: ChatOptions | undefined): ChatCallContext {
  if (isAbortSignal(options)) {
    throw new ByokitError('validation_failed', `The options object must be { signal?, requestId? }; got an AbortSignal: pass { signal }.`);
  }
  const { signal, requestId } = settingsGiven<ChatOptions>(options, 'The options object', CHAT_OPTIONS);
  // null as fetch() takes it: no signal. An adapter's RequestAbort, as the routes pass on, is taken too.
  if (signal !== undefined && signal !== null && !isRequestAbort(signal) && !isAbortSignal(signal)) {
    throw new ByokitError('validation_failed', `signal must be an AbortSignal; got ${kindOfSignal(signal)}.`);
  }
  if (requestId !== undefined && (typeof requestId !== 'string' || !isSaneRequestId(requestId))) {
    // Never the id itself: it may be a key given by mistake.
    const got = typeof requestId === 'string' ? '' : `; got ${kindOfOption(requestId)}`;
    throw new ByokitError('validation_failed', `${REQUEST_ID_RULE}${got}.`);
  }
  return { signal: signal ?? undefined, requestId: requestId ?? crypto.randomUUID() };
}

/** `forgetUser`'s options, checked before anything is forgotten: the choice of what becomes of usage is never a default. */
export function forgetUserOptions(options: ForgetUserOptions): { usage: ForgottenUsage; actor: KeyWriteActor } {
  const { usage, actorId = 'host', requestId } = settingsGiven<ForgetUserOptions>(options, 'The options object', FORGET_USER_OPTIONS);
  if (usage !== 'keep' && usage !== 'delete') {
    throw new ByokitError(
      'validation_failed',
      "usage must be 'keep' or 'delete': what becomes of the user's usage records ('keep' leaves them, and what they spent, under the user id; 'delete' takes them out of every total).",
    );
  }
  const actorProblem = userIdProblem(actorId);
  if (actorProblem !== undefined) {
    throw new ByokitError('validation_failed', `${actorProblem.replace(/^userId/, 'actorId')}: it must be ${USER_ID_RULE}.`);
  }
  if (requestId !== undefined && (typeof requestId !== 'string' || !isSaneRequestId(requestId))) {
    throw new ByokitError('validation_failed', `${REQUEST_ID_RULE}.`);
  }
  return { usage, actor: { actorId, requestId: requestId ?? crypto.randomUUID() } };
}

const FORGET_USER_OPTIONS = ['usage', 'actorId', 'requestId'] satisfies (keyof ForgetUserOptions)[];
const CHAT_OPTIONS = ['signal', 'requestId'] satisfies (keyof ChatOptions)[];
const REQUEST_ID_RULE =
  "requestId must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-', holding no provider API key, as x-request-id";
export const USAGE_QUERY = ['userId', 'from', 'to', 'groupBy'] satisfies (keyof UsageSummaryRequest)[];
export const USAGE_PAGE = ['limit', 'cursor'];

/**
 * Settings a host passed to a method in code (`undefined` for none): an object of names the method reads, refused
 * otherwise as the routes refuse an unknown field. A name byokit does not read was ignored, and a value of another
 * kind read as no settings at all: `usage.query({ user })` or `usage.query(userId)` answered every user's usage.
 */
export function settingsGiven<T extends object>(settings: unknown, what: string, names: readonly string[]): Partial<T> {
  if (settings === undefined) return {};
  if (!isSettingsObject(settings)) {
    throw new ByokitError('validation_failed', `${what} must be ${optionalSettingsShape(names)}; got ${kindOfOption(settings)}.`);
  }
  const unknown = unknownSetting(settings, names);
  // Scrubbed: a name is the caller's text, as an unknown field's is in a route's refusal.
  if (unknown !== undefined) {
    throw new ByokitError('validation_failed', `${what} has no ${scrubSecrets(unknown)}: it takes ${names.join(', ')}.`);
  }
  return settings as Partial<T>;
}

/**
 * The user id of a principal given in code. Checked before it is read: a host's own auth answers null for nobody
 * signed in, and passed on as is, that was "Cannot read properties of null (reading 'userId')".
 */
export function principalUserId(principal: unknown): string {
  if (typeof principal !== 'object' || principal === null) {
    throw new ByokitError(
      'validation_failed',
      `The principal must be { userId }, the user the call is for; got ${kindOfOption(principal)}.`,
    );
  }
  return validUserId((principal as { userId?: unknown }).userId);
}

/**
 * A user id given in code, held to the rule the routes hold the host's principal to: a NUL (U+0000), or more
 * characters than its key table holds, would fail in PostgreSQL's storage alone, as its raw error.
 */
export function validUserId(userId: unknown): string {
  const problem = userIdProblem(userId);
  if (problem === undefined) return userId as string;
  throw new ByokitError('validation_failed', `${problem}: it must be ${USER_ID_RULE}.`);
}

/** A page size given in code: the storages' own rule, refused as the routes refuse theirs (not a RangeError). */
export function validPageLimit(limit: number): number {
  try {
    assertUsagePageLimit(limit);
    return limit;
  } catch {
    throw new ByokitError('validation_failed', `limit must be a whole number from 1 to ${MAX_USAGE_PAGE}.`);
  }
}

/** A provider given in code: one byokit speaks to, not one it would look up keys for and name as `undefined`. */
export function validProvider(provider: unknown): Provider {
  if (isProvider(provider)) return provider;
  throw new ByokitError('validation_failed', `provider must be one of ${PROVIDERS.join(', ')}.`);
}

/** Programmatic callers get the same validation as the route: one schema for both. */
export function validChatRequest(request: ChatCompletionRequest): ChatCompletionRequest {
  const result = chatCompletionBody.safeParse(request, readableParse('request'));
  if (result.success) return result.data;
  throw validationFailed(schemaIssues(result.error.issues), 'request', 'chat request');
}
