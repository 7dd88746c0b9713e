import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { distFiles, packedFiles, publicNames, readmeExampleErrors, readPackageJson } from '../../../scripts/package-contents.js';
import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, (packageDir) => {
  it('exports exactly these names, from each entry point: a name added or dropped by accident is a diff here', () => {
    expect(publicNames(packageDir, readPackageJson(packageDir))).toEqual({
      '@byokit/core': [
        'ByokitError',
        'DEFAULT_BASE_URLS',
        'DEFAULT_SYSTEM_KEY_VARIABLES',
        'ERROR_STATUS',
        'Keyring',
        'MAX_BODY_BYTES',
        'MAX_USAGE_PAGE',
        'PROVIDERS',
        'RequestAbort',
        'SYSTEM_OWNER',
        'SecretKey',
        'assertCalendarMonth',
        'assertUsagePageLimit',
        'authenticateOption',
        'byokitOption',
        'createByokit',
        'createFetchHandler',
        'envKeyProvider',
        'generateKeyringEntry',
        'isByokitError',
        'isPlaceholderKey',
        'isProvider',
        'keyHint',
        'keyringFromEnv',
        'memoryRateLimiter',
        'memoryStorage',
        'mountSettings',
        'onAbort',
        'openProviderKey',
        'parseKeyring',
        'parseProviderKey',
        'readEnvelopeKeyId',
        'requestIdOf',
        'scrubSecrets',
        'sealProviderKey',
        'type AuditQuery',
        'type AuditRecord',
        'type Authenticate',
        'type Budget',
        'type BudgetHold',
        'type BudgetScope',
        'type BudgetUse',
        'type Byokit',
        'type ByokitErrorDetails',
        'type ByokitOptions',
        'type ByokitRequest',
        'type ByokitResponse',
        'type Cancellation',
        'type CatalogModel',
        'type ChatCompletion',
        'type ChatCompletionChunk',
        'type ChatCompletionRequest',
        'type ChatOptions',
        'type ChatUsage',
        'type EnvelopeContext',
        'type ErrorCode',
        'type FallThroughFetchHandler',
        'type FetchHandler',
        'type FetchHandlerOptions',
        'type ForgetUserOptions',
        'type ForgottenUsage',
        'type ForgottenUser',
        'type ForgottenUserRows',
        'type HoldOutcome',
        'type HostDispatcher',
        'type KeyChange',
        'type KeyOwner',
        'type KeyProvider',
        'type KeyRowCursor',
        'type KeySource',
        'type KeyVerification',
        'type KeyWriteActor',
        'type KeyringOptions',
        'type LogMethod',
        'type Logger',
        'type MemoryRateLimiterOptions',
        'type ModelPricing',
        'type OpenApiOptions',
        'type Principal',
        'type Provider',
        'type ProviderSettings',
        'type ProvidersSettings',
        'type RateDecision',
        'type RateLimiter',
        'type RequestBody',
        'type RequestHeaders',
        'type ResolvedKey',
        'type RotationOptions',
        'type RotationProgress',
        'type SamplingParameter',
        'type Storage',
        'type StoredKey',
        'type SystemKeyVariables',
        'type UsageCursor',
        'type UsageGroupBy',
        'type UsageListener',
        'type UsagePage',
        'type UsageQuery',
        'type UsageRecord',
        'type UsageStatus',
        'type UsageSummary',
        'type UsageSummaryQuery',
        'type UsageSummaryRequest',
        'type UsageTotals',
        'type UsageWindow',
        'type ValidationIssue',
        'userOwner',
      ],
      '@byokit/core/node': [
        'createNodeHandler',
        'originForm',
        'type NodeHandler',
        'type NodeHandlerOptions',
        'type NodeRequest',
        'type NodeResponse',
        'writtenWhole',
      ],
      '@byokit/core/testing': [
        'HOST_ANSWER_HEADER',
        'describeAdapterConformance',
        'describeHttp2Conformance',
        'describeStorageConformance',
        'expectChunkByChunk',
        'fakeProviderKey',
        'findKeyLeaks',
        'listenOnLoopback',
        'rawRequest',
        'seededRandom',
        'startMockProviders',
        'type AdapterConformanceOptions',
        'type ConformanceMountOptions',
        'type KeyLeak',
        'type MockBaseUrls',
        'type MockFailure',
        'type MockProviders',
        'type MockProvidersOptions',
        'type MockRequest',
        'type MountAdapter',
        'type MountHttp2Adapter',
        'type MountedAdapter',
        'type MountedHttp2Adapter',
        'type StorageConformanceOptions',
        'type StreamPacer',
      ],
      '@byokit/core/mock-providers': [
        'startMockProviders',
        'type MockBaseUrls',
        'type MockFailure',
        'type MockProviders',
        'type MockProvidersOptions',
        'type MockRequest',
        'type StreamPacer',
      ],
    });
  }, 30_000);

  it('ships the recorded responses its mock providers serve, with their provenance and licence, and no test-only ones', () => {
    // The mock reads each fixture by a literal path, e.g. fixtureJson('anthropic/anthropic-text.json').
    const served = new Set<string>();
    for (const file of distFiles(packageDir, ['.js'])) {
      for (const [, path] of readFileSync(file, 'utf8').matchAll(
        /['"`]((?:anthropic|openai|google)\/[\w.-]+\.(?:json|chunks\.txt))['"`]/g,
      )) {
        served.add(`fixtures/${path}`);
      }
    }
    expect(served.size).toBeGreaterThan(0);
    const shipped = packedFiles(packageDir).filter((path) => path.startsWith('fixtures/'));
    expect(shipped).toEqual([...served, 'fixtures/LICENSE.vercel-ai', 'fixtures/README.md'].sort());
  }, 30_000);

  it("shows in the repository's README and each example's only TypeScript examples that type-check against the built packages", () => {
    // Core's test, since these READMEs show every package; each package's own README is checked by its own test.
    const root = join(packageDir, '..', '..');
    const examples = readdirSync(join(root, 'examples')).map((name) => join(root, 'examples', name));
    const folders = [root, ...examples.filter((folder) => existsSync(join(folder, 'README.md')))];
    expect(folders.flatMap((folder) => readmeExampleErrors(folder).map((error) => `${relative(root, folder) || '.'}/${error}`))).toEqual(
      [],
    );
  }, 120_000);
});
