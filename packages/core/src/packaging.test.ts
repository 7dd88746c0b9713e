import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { distFiles, packedFiles, readmeExampleErrors } from '../../../scripts/package-contents.js';
import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(
  import.meta.url,
  {
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
  },
  (packageDir) => {
    // 120 s, as the packaging suite's tests: npm pack is CPU, which a loaded machine shares out (45 s pinned to a core
    // beside 38 busy processes).
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
    }, 120_000);

    it('says first, in the hover of each export made for adapters or storages, that it is for them: "For adapters", "For storages"', () => {
      // docs/architecture.md, "Packaging": public for a host's own adapter or Storage, and said so.
      const declarations = distFiles(packageDir, ['.d.ts']).map((file) => readFileSync(file, 'utf8'));
      const forWhom = {
        adapters: ['byokitOption', 'mountSettings', 'authenticateOption', 'RequestAbort', 'onAbort'],
        storages: ['assertCalendarMonth', 'assertUsagePageLimit', 'MAX_USAGE_PAGE'],
      };
      const firstWords = Object.entries(forWhom).flatMap(([whom, names]) =>
        names.map((name) => {
          // The doc comment right before `declare function|const|class <name>`, its text from the start.
          const comment = declarations
            .map((text) => {
              const at = text.search(new RegExp(String.raw`\*/\s*declare (?:function|const|class) ${name}\b`));
              return at < 0 ? undefined : text.slice(text.lastIndexOf('/**', at) + 3, at).replace(/^[\s*]+/, '');
            })
            .find((text) => text !== undefined);
          return `${name}: ${comment?.startsWith(`For ${whom}`) ? `For ${whom}` : (comment ?? '(none)').split('\n')[0]}`;
        }),
      );
      expect(firstWords).toEqual(Object.entries(forWhom).flatMap(([whom, names]) => names.map((name) => `${name}: For ${whom}`)));
    });

    it("shows in the repository's README and each example's only TypeScript examples that type-check against the built packages", () => {
      // Core's test, since these READMEs show every package; each package's own README is checked by its own test.
      const root = join(packageDir, '..', '..');
      const examples = readdirSync(join(root, 'examples')).map((name) => join(root, 'examples', name));
      const folders = [root, ...examples.filter((folder) => existsSync(join(folder, 'README.md')))];
      expect(folders.flatMap((folder) => readmeExampleErrors(folder).map((error) => `${relative(root, folder) || '.'}/${error}`))).toEqual(
        [],
      );
    }, 120_000);
  },
);
