/**
 * @byokit/core/testing: suites that prove an implementation honours byokit's contracts, and test helpers.
 * Needs vitest (an optional peer dependency).
 */
export { describeStorageConformance } from './storage-conformance.js';
export type { StorageConformanceOptions } from './storage-conformance.js';
export { fakeProviderKey } from '../keys/fake-keys.js';
export { expectChunkByChunk } from './chunk-by-chunk.js';
export { rawRequest } from './raw-request.js';
export { findKeyLeaks } from './leak-check.js';
export { seededRandom } from './seeded-random.js';
export type { KeyLeak } from './leak-check.js';
export { startMockProviders } from './mock-providers.js';
export type { MockBaseUrls, MockFailure, MockProviders, MockProvidersOptions, MockRequest, StreamPacer } from './mock-providers.js';
export { describeAdapterConformance, HOST_ANSWER_HEADER, listenOnLoopback } from './adapter-conformance.js';
export type { AdapterConformanceOptions, ConformanceMountOptions, MountAdapter, MountedAdapter } from './adapter-conformance.js';
export { describeHttp2Conformance } from './adapter-conformance/http2.js';
export type { MountedHttp2Adapter, MountHttp2Adapter } from './adapter-conformance/http2.js';
