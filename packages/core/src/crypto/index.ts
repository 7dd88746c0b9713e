/**
 * Encryption at rest of provider keys (spec/security.md, "Encryption at rest"): the keyring of master keys,
 * the envelope format and a strict base64url codec. Internal helpers (key bytes, explicit nonces) stay out.
 */
export { decodeBase64UrlStrict, encodeBase64Url } from './base64url.js';
export { openProviderKey, readEnvelopeKeyId, sealProviderKey } from './envelope.js';
export type { EnvelopeContext } from './envelope.js';
export { envKeyProvider, generateKeyringEntry, Keyring, keyringFromEnv, parseKeyring } from './keyring.js';
export type { KeyProvider, KeyringOptions } from './keyring.js';
