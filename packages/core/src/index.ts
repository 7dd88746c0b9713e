/**
 * @byokit/core: bring-your-own-key LLM access for Node backends. Start with {@link createByokit}, mount
 * it with `@byokit/adapter-express` (or `byokit.fetch` / {@link createFetchHandler} on a fetch host such as
 * Hono), keep data in `@byokit/storage-postgres`.
 */
export { createByokit } from './byokit.js';
export type { Byokit, ByokitOptions, ChatOptions } from './byokit.js';
export type { ForgetUserOptions, ForgottenUser } from './forget-user.js';
export type { OpenApiOptions } from './http/openapi.js';
export type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatUsage } from './chat/chat-schemas.js';
export type { CatalogModel, ModelPricing, SamplingParameter } from './catalog/model.js';
export { DEFAULT_BASE_URLS } from './providers/provider-clients.js';
export type { ProvidersSettings } from './providers/provider-clients.js';
export type { ProviderSettings } from './providers/provider-types.js';
export type { HostDispatcher } from './providers/host-dispatcher.js';
export type { RotationOptions, RotationProgress } from './vault/reseal-keys.js';
export type {
  UsageCursor,
  UsageGroupBy,
  UsagePage,
  UsageQuery,
  UsageRecord,
  UsageStatus,
  UsageSummary,
  UsageSummaryQuery,
  UsageTotals,
} from './metering/usage-record.js';
export type { UsageListener } from './metering/usage-meter.js';
export type { Budget, BudgetHold, BudgetScope, BudgetUse, HoldOutcome } from './metering/budget.js';
export { assertCalendarMonth } from './metering/budget.js';
export { assertUsagePageLimit, MAX_USAGE_PAGE } from './metering/usage-record.js';
export type { UsageSummaryRequest, UsageWindow } from './metering/usage-service.js';
export { memoryRateLimiter } from './metering/rate-limiter.js';
export type { MemoryRateLimiterOptions, RateDecision, RateLimiter } from './metering/rate-limiter.js';

export { MAX_BODY_BYTES } from './http/routes/chat-routes.js';
export { ByokitError, ERROR_STATUS, isByokitError } from './errors.js';
export type { ByokitErrorDetails, ErrorCode, ValidationIssue } from './errors.js';

export { PROVIDERS, isProvider } from './keys/providers.js';
export type { Provider } from './keys/providers.js';
export { SecretKey } from './keys/secret-key.js';
export { parseProviderKey } from './keys/key-formats.js';
export { isPlaceholderKey } from './keys/placeholders.js';
export { scrubSecrets } from './keys/scrub-secrets.js';
export { keyHint } from './keys/secret-key.js';

export { Keyring, envKeyProvider, generateKeyringEntry, keyringFromEnv, parseKeyring } from './crypto/keyring.js';
export type { KeyProvider, KeyringOptions } from './crypto/keyring.js';
export { openProviderKey, readEnvelopeKeyId, sealProviderKey } from './crypto/envelope.js';
export type { EnvelopeContext } from './crypto/envelope.js';

export type { KeySource, ResolvedKey } from './resolve/key-resolver.js';
export { DEFAULT_SYSTEM_KEY_VARIABLES } from './resolve/environment-keys.js';
export type { SystemKeyVariables } from './resolve/environment-keys.js';

export { memoryStorage } from './storage/memory-storage.js';
export { SYSTEM_OWNER, userOwner } from './storage/storage.js';
export type {
  AuditQuery,
  AuditRecord,
  ForgottenUsage,
  ForgottenUserRows,
  KeyChange,
  KeyOwner,
  KeyRowCursor,
  KeyVerification,
  KeyWriteActor,
  Storage,
  StoredKey,
} from './storage/storage.js';

export type { Authenticate, ByokitRequest, ByokitResponse, Principal, RequestBody, RequestHeaders } from './http/types.js';
export { createFetchHandler } from './fetch/fetch-handler.js';
// For adapters (byokit's own, and a host's over byokit.handle): a request's cancellation, the checks made at a mount.
export { onAbort, RequestAbort, type Cancellation } from './http/request-abort.js';
export { authenticateOption } from './http/authenticate-option.js';
export { byokitOption, mountSettings } from './http/mount-checks.js';
/** byokit's rule for `x-request-id`, for a host that answers its own routes alike (the example server does). */
export { requestIdOf } from './http/headers.js';
export type { FallThroughFetchHandler, FetchHandler, FetchHandlerOptions } from './fetch/fetch-handler.js';
export type { Logger, LogMethod } from './logging/logger.js';
