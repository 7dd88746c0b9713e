import { ByokitError, isByokitError } from '../../errors.js';
import { PROVIDER_LABELS, type Provider } from '../../keys/providers.js';
import { loggableError, loggableText, type Logger } from '../../logging/logger.js';
import { scrubKnownSecret } from '../../keys/scrub-secrets.js';
import { scrubbedError } from '../../keys/scrubbed-error.js';
import type { SecretKey } from '../../keys/secret-key.js';
import type { ProviderClient } from '../../providers/provider-types.js';
import { SYSTEM_OWNER, userOwner } from '../../storage/storage.js';
import type { KeyManager } from '../../vault/key-manager.js';
import type { RateLimitGuard } from '../../metering/rate-limit-guard.js';
import { standardSignal, type Cancellation } from '../request-abort.js';
import { defineRoute, type Route, type RouteError } from '../route.js';
import {
  keyDeleteQuery,
  keyUpdateBody,
  keyUpdateOf,
  keyUpdateQuery,
  personalKeyStatus,
  personalStatusBody,
  systemKeyStatus,
  systemStatusBody,
} from './key-schemas.js';

/** Key bodies are tiny; a small limit refuses floods before they are read (spec/security.md). */
export const KEY_BODY_LIMIT_BYTES = 8 * 1024;
const VERIFY_TIMEOUT_MS = 10_000;
/**
 * A provider's own delay before a retry that the check waits out, leaving the retry time to answer; a longer one is
 * not (the back-off is): the check was cut off waiting it, and the key saved unverified.
 */
const VERIFY_LONGEST_PAUSE_MS = VERIFY_TIMEOUT_MS / 2;

/** What a key update can be refused with beyond its schema; a provider refusing a key on `?verify=true` is 422. */
const KEY_UPDATE_ERRORS: readonly RouteError[] = ['invalid_key_format', 'placeholder_key', { code: 'provider_key_rejected', status: 422 }];
/** A user's own key writes count in their rate limit (the host's `rateLimit`); an admin's do not. */
const PERSONAL_KEY_UPDATE_ERRORS: readonly RouteError[] = [...KEY_UPDATE_ERRORS, 'rate_limited'];

/**
 * The personal key routes (any signed-in user, always on their own keys: no route takes a user id) and
 * the system key routes (admins only). spec/http-api.md, "Personal keys" and "System keys". A user's key write
 * counts in their rate limit, as a chat call does: each writes audit records, and with `?verify=true` calls every
 * provider it names from the host's address.
 */
export function keyRoutes(
  keys: KeyManager,
  clients: Record<Provider, ProviderClient>,
  rateLimits: RateLimitGuard,
  logger: Logger,
): Route<any, any, any>[] {
  // A free call (listing models), bounded: a provider that does not answer within 10 s counts as unreachable,
  // and the key is saved unverified (spec/http-api.md, PATCH ?verify=true). A client that leaves ends the checks
  // and the write with them: its key was to be saved only once checked.
  const verifier = (verify: boolean | undefined, request: Cancellation, requestId: string) => {
    if (!verify) return undefined;
    const left = standardSignal(request);
    return (provider: Provider) => (key: SecretKey) =>
      clients[provider]
        .checkKey({
          key,
          signal: AbortSignal.any([left, AbortSignal.timeout(VERIFY_TIMEOUT_MS)]),
          longestPauseMs: VERIFY_LONGEST_PAUSE_MS,
        })
        .catch((error: unknown) => {
          if (left.aborted) throw error;
          // The key is saved unverified, and only the operator can tell why (a provider down, a firewall, a base URL
          // gone wrong), as a chat's provider failure is logged: a warning, as the write itself succeeds.
          // What is not a ByokitError is the check's own 10 s running out (the signal's reason).
          const failure = isByokitError(error)
            ? error
            : new ByokitError('provider_timeout', `The ${PROVIDER_LABELS[provider]} API did not answer the key check in time.`, {
                provider,
              });
          // Scrubbed of the key checked, piece by piece, as a chat's error is of the key its call used (caller-error.ts):
          // a provider or a proxy before it may echo it in a shape no key pattern knows (cut of its prefix, say).
          const checked = key.reveal();
          logger.warn(
            { requestId, code: failure.code, provider, err: loggableError(scrubbedError(error, checked)) },
            `${loggableText(scrubKnownSecret(failure.message, checked).replace(/\.$/, ''))}; the key was saved unverified.`,
          );
          return 'unreachable' as const;
        });
  };

  const personalStatus = async (userId: string) => ({ body: personalStatusBody(await keys.personalState(userOwner(userId))) });
  const systemStatus = async () => ({ body: systemStatusBody(await keys.systemState()) });

  return [
    defineRoute({
      method: 'GET',
      path: '/users/me/api-key-status',
      access: 'user',
      summary: 'Which of your personal provider keys are configured.',
      response: personalKeyStatus,
      handle: ({ principal }) => personalStatus(principal.userId),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/users/me/api-key',
      access: 'user',
      summary: 'Set (string) or remove (null) your personal provider keys, all or nothing.',
      body: keyUpdateBody,
      bodyLimitBytes: KEY_BODY_LIMIT_BYTES,
      query: keyUpdateQuery,
      response: personalKeyStatus,
      errors: PERSONAL_KEY_UPDATE_ERRORS,
      handle: async ({ principal, body, query, requestId, signal }) => {
        await rateLimits.admit(principal.userId, requestId);
        await keys.update(
          userOwner(principal.userId),
          keyUpdateOf(body),
          { actorId: principal.userId, requestId },
          verifier(query.verify, signal, requestId),
        );
        return personalStatus(principal.userId);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/users/me/api-key',
      access: 'user',
      summary: 'Remove all your personal provider keys, or one with ?provider=.',
      query: keyDeleteQuery,
      response: personalKeyStatus,
      errors: ['rate_limited'],
      handle: async ({ principal, query, requestId }) => {
        await rateLimits.admit(principal.userId, requestId);
        await keys.remove(userOwner(principal.userId), query.provider && [query.provider], { actorId: principal.userId, requestId });
        return personalStatus(principal.userId);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/admin/api-key-status',
      access: 'admin',
      summary: 'Which system keys are configured, and whether each comes from the database or the environment.',
      response: systemKeyStatus,
      handle: () => systemStatus(),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/admin/api-key',
      access: 'admin',
      summary: 'Set (string) or remove (null) system keys, all or nothing. A database key wins over the environment.',
      body: keyUpdateBody,
      bodyLimitBytes: KEY_BODY_LIMIT_BYTES,
      query: keyUpdateQuery,
      response: systemKeyStatus,
      errors: KEY_UPDATE_ERRORS,
      handle: async ({ principal, body, query, requestId, signal }) => {
        await keys.update(
          SYSTEM_OWNER,
          keyUpdateOf(body),
          { actorId: principal.userId, requestId },
          verifier(query.verify, signal, requestId),
        );
        return systemStatus();
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/admin/api-key',
      access: 'admin',
      summary: 'Remove all system keys stored in the database, or one with ?provider=; environment keys then apply.',
      query: keyDeleteQuery,
      response: systemKeyStatus,
      handle: async ({ principal, query, requestId }) => {
        await keys.remove(SYSTEM_OWNER, query.provider && [query.provider], { actorId: principal.userId, requestId });
        return systemStatus();
      },
    }),
  ];
}
