/**
 * Provider keys: which providers exist, the in-memory key type, and the checks on a submitted key.
 * The fake-key generator is a testing helper and lives in the package's `testing` entry instead.
 */
export { PROVIDERS, isProvider } from './providers.js';
export type { Provider } from './providers.js';
export { SecretKey } from './secret-key.js';
export { parseProviderKey, isPlaceholderKey, keyHint, scrubSecrets } from './key-formats.js';
