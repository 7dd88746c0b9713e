import { Buffer } from 'node:buffer';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { bytesToHex, hexToBytes, randomBytes } from '@noble/ciphers/utils.js';
import { describe, expect, it } from 'vitest';
import { isByokitError } from '../errors.js';
import type { EnvelopeContext } from './envelope.js';
import { openProviderKey, readEnvelopeKeyId, sealProviderKey, sealWithNonce } from './envelope.js';
import { Keyring } from './keyring.js';

const PROVIDER_KEY = `sk-ant-api03-${'x7Q_'.repeat(23)}AA`;
const ALICE: EnvelopeContext = { ownerType: 'user', ownerId: 'alice', provider: 'anthropic' };

function keyringOf(...ids: string[]): Keyring {
  return Keyring.from(ids.map((id) => ({ id, key: randomBytes(32) })));
}

function thrown(action: () => unknown): { code: string; message: string } {
  try {
    action();
  } catch (error) {
    if (!isByokitError(error)) throw error;
    return error;
  }
  throw new Error('expected a ByokitError, got a result');
}

function expectDecryptFailure(action: () => unknown): { code: string; message: string } {
  const error = thrown(action);
  expect(error.code).toBe('key_decrypt_failed');
  expect(error.message).not.toContain(PROVIDER_KEY);
  return error;
}

describe('XChaCha20-Poly1305 through @noble/ciphers', () => {
  it('matches the published test vector of draft-irtf-cfrg-xchacha-03 §A.3.1', () => {
    const key = hexToBytes('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hexToBytes('404142434445464748494a4b4c4d4e4f5051525354555657');
    const aad = hexToBytes('50515253c0c1c2c3c4c5c6c7');
    const plaintext = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const ciphertext =
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb' +
      '731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
      '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9' +
      '21f9664c97637da9768812f615c68b13b52e';
    const tag = 'c0875924c1c7987947deafd8780acf49';
    const sealed = xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
    expect(bytesToHex(sealed)).toBe(ciphertext + tag);
    expect(xchacha20poly1305(key, nonce, aad).decrypt(sealed)).toEqual(plaintext);
  });
});

describe('a sealed provider key', () => {
  it('opens back to the same key, with the same owner and provider', () => {
    const keyring = keyringOf('k1');
    const { envelope, keyId } = sealProviderKey(keyring, PROVIDER_KEY, ALICE);
    expect(keyId).toBe('k1');
    expect(openProviderKey(keyring, envelope, { ...ALICE })).toBe(PROVIDER_KEY);
  });

  it('keeps any Unicode text exactly, including a leading BOM', () => {
    const keyring = keyringOf('k1');
    const text = '\uFEFFclé-🔑-鍵';
    expect(openProviderKey(keyring, sealProviderKey(keyring, text, ALICE).envelope, ALICE)).toBe(text);
  });

  it('opens from a Node Buffer at an odd offset, as a database driver may return it', () => {
    const keyring = keyringOf('k1');
    const { envelope } = sealProviderKey(keyring, PROVIDER_KEY, ALICE);
    const unaligned = Buffer.concat([Buffer.of(0), Buffer.from(envelope)]).subarray(1);
    expect(openProviderKey(keyring, unaligned, ALICE)).toBe(PROVIDER_KEY);
  });

  it('is laid out as BYOK, version 1, algorithm 1, key id, 24-byte nonce, ciphertext and 16-byte tag', () => {
    const key = hexToBytes('7c2e9f0b41d8a6531e07c4b29a5f8d6e03b7e1c94a2f6d8b5c0e3a7f19d4b682');
    const nonce = hexToBytes('404142434445464748494a4b4c4d4e4f5051525354555657');
    const keyring = Keyring.from([{ id: 'k1', key }]);
    const context: EnvelopeContext = { ownerType: 'user', ownerId: 'u-123', provider: 'openai' };
    const { envelope } = sealWithNonce(keyring, 'sk-test', context, nonce);
    const header = '42594f4b' + '01' + '01' + '02' + '6b31'; // "BYOK", v1, XChaCha20-Poly1305, "k1"
    // Written out by hand: each field is a 4-byte big-endian length, then its UTF-8 bytes.
    const aad =
      header +
      '00000016' +
      '62796f6b69742f70726f76696465722d6b65792f7631' + // "byokit/provider-key/v1"
      '00000004' +
      '75736572' + // "user"
      '00000005' +
      '752d313233' + // "u-123"
      '00000006' +
      '6f70656e6169'; // "openai"
    const sealed = xchacha20poly1305(key, nonce, hexToBytes(aad)).encrypt(new TextEncoder().encode('sk-test'));
    expect(bytesToHex(envelope)).toBe(header + bytesToHex(nonce) + bytesToHex(sealed));
    expect(envelope.length).toBe(7 + 2 + 24 + 7 + 16);
    expect(readEnvelopeKeyId(envelope)).toBe('k1');
  });

  it('differs every time the same key is sealed (fresh nonce)', () => {
    const keyring = keyringOf('k1');
    const first = sealProviderKey(keyring, PROVIDER_KEY, ALICE).envelope;
    const second = sealProviderKey(keyring, PROVIDER_KEY, ALICE).envelope;
    expect(bytesToHex(first)).not.toBe(bytesToHex(second));
    expect(bytesToHex(first.subarray(9, 33))).not.toBe(bytesToHex(second.subarray(9, 33)));
  });

  it('refuses an empty key and a key with a lone surrogate', () => {
    const keyring = keyringOf('k1');
    expect(thrown(() => sealProviderKey(keyring, '', ALICE)).code).toBe('validation_failed');
    expect(thrown(() => sealProviderKey(keyring, 'sk-\uD800', ALICE)).code).toBe('validation_failed');
  });
});

describe('a sealed provider key moved to another place', () => {
  const keyring = keyringOf('k1');
  const { envelope } = sealProviderKey(keyring, PROVIDER_KEY, ALICE);

  it.each<[string, EnvelopeContext]>([
    ['another user', { ownerType: 'user', ownerId: 'bob', provider: 'anthropic' }],
    ['the system owner', { ownerType: 'system', ownerId: 'alice', provider: 'anthropic' }],
    ['another provider', { ownerType: 'user', ownerId: 'alice', provider: 'openai' }],
  ])('fails to open for %s, naming the key id and the row', (_, context) => {
    const error = expectDecryptFailure(() => openProviderKey(keyring, envelope, context));
    expect(error.message).toContain("master key id 'k1'");
    expect(error.message).toContain(`${context.ownerType} "${context.ownerId}"`);
    expect(error.message).toContain(`"${context.provider}" key`);
  });

  it('fails to open when owner id and provider share the same characters differently split', () => {
    const split = sealProviderKey(keyring, PROVIDER_KEY, { ownerType: 'user', ownerId: 'ab', provider: 'c' });
    const context: EnvelopeContext = { ownerType: 'user', ownerId: 'a', provider: 'bc' };
    expectDecryptFailure(() => openProviderKey(keyring, split.envelope, context));
  });
});

describe('a damaged envelope', () => {
  const keyring = keyringOf('k1');
  const { envelope } = sealProviderKey(keyring, PROVIDER_KEY, ALICE);
  const headerEnd = 7 + 2;
  const nonceEnd = headerEnd + 24;
  const tagStart = envelope.length - 16;

  it.each([
    ['header', 0, headerEnd],
    ['nonce', headerEnd, nonceEnd],
    ['ciphertext', nonceEnd, tagStart],
    ['tag', tagStart, envelope.length],
  ])('fails to open with any single bit flipped in the %s', (_, start, end) => {
    const opened: string[] = [];
    for (let index = start; index < end; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = envelope.slice();
        damaged[index]! ^= 1 << bit;
        const error = thrown(() => openProviderKey(keyring, damaged, ALICE));
        if (error.code !== 'key_decrypt_failed') opened.push(`byte ${index} bit ${bit}`);
      }
    }
    expect(opened).toEqual([]);
  });

  it('fails to open when truncated to any length', () => {
    for (let length = 0; length < envelope.length; length++) {
      expectDecryptFailure(() => openProviderKey(keyring, envelope.slice(0, length), ALICE));
    }
    expect(expectDecryptFailure(() => openProviderKey(keyring, envelope.slice(0, 20), ALICE)).message).toContain(
      'shorter than the minimum of 49',
    );
  });

  it('fails to open with trailing bytes', () => {
    for (const extra of [Uint8Array.of(0), randomBytes(16)]) {
      const longer = new Uint8Array([...envelope, ...extra]);
      expectDecryptFailure(() => openProviderKey(keyring, longer, ALICE));
    }
  });

  it.each([
    ['an unknown format version', 4, 2, 'unsupported envelope format version 2'],
    ['format version 0', 4, 0, 'unsupported envelope format version 0'],
    ['an unknown algorithm', 5, 2, 'unsupported envelope algorithm id 2'],
    ['a wrong magic', 0, 0x62, 'does not start with "BYOK"'],
    ['a key-id length of 0', 6, 0, 'key-id length 0 is outside 1..64'],
    ['a key-id length of 65', 6, 65, 'key-id length 65 is outside 1..64'],
    ['a non-printable key id', 7, 0x01, 'key id has characters outside'],
    ['a non-ASCII key id', 8, 0xb1, 'key id is not ASCII'],
  ])('is refused before decryption when it has %s', (_, index, value, expected) => {
    const damaged = envelope.slice();
    damaged[index] = value;
    expect(expectDecryptFailure(() => openProviderKey(keyring, damaged, ALICE)).message).toContain(expected);
    expect(thrown(() => readEnvelopeKeyId(damaged)).code).toBe('key_decrypt_failed');
  });
});

describe('master keys and rotation', () => {
  it('refuses an envelope under an unknown key id, naming the id (never a silent null)', () => {
    const { envelope } = sealProviderKey(keyringOf('k9'), PROVIDER_KEY, ALICE);
    const error = expectDecryptFailure(() => openProviderKey(keyringOf('k1', 'k2'), envelope, ALICE));
    expect(error.message).toContain("unknown master key id 'k9': add it to BYOKIT_KEYRING");
    expect(error.message).toContain('user "alice"');
  });

  it('refuses an envelope under a retired key id', () => {
    const old = randomBytes(32);
    const { envelope } = sealProviderKey(Keyring.from([{ id: 'k1', key: old }]), PROVIDER_KEY, ALICE);
    const retiring = Keyring.from(
      [
        { id: 'k2', key: randomBytes(32) },
        { id: 'k1', key: old },
      ],
      { retired: ['k1'] },
    );
    const error = expectDecryptFailure(() => openProviderKey(retiring, envelope, ALICE));
    expect(error.message).toContain("master key id 'k1' is retired");
  });

  it('refuses an envelope when the id is known but its key bytes changed', () => {
    const { envelope } = sealProviderKey(keyringOf('k1'), PROVIDER_KEY, ALICE);
    const error = expectDecryptFailure(() => openProviderKey(keyringOf('k1'), envelope, ALICE));
    expect(error.message).toContain("authentication failed under master key id 'k1'");
  });

  // spec/security.md: decrypt picks the key by the id in the envelope, never by trying each key (Rails and Fernet
  // try every key). Here the keyring holds the bytes that sealed it, under another id: trying each key would open it.
  it("opens an envelope only with the key its id names, never trying the keyring's other keys", () => {
    const sealer = randomBytes(32);
    const { envelope } = sealProviderKey(Keyring.from([{ id: 'k1', key: sealer }]), PROVIDER_KEY, ALICE);
    const keyring = Keyring.from([
      { id: 'k2', key: sealer },
      { id: 'k1', key: randomBytes(32) },
    ]);
    const error = expectDecryptFailure(() => openProviderKey(keyring, envelope, ALICE));
    expect(error.message).toContain("authentication failed under master key id 'k1'");
  });

  it('still opens old envelopes after a new primary key is added, and seals new ones under it', () => {
    const old = randomBytes(32);
    const before = Keyring.from([{ id: 'k1', key: old }]);
    const { envelope: oldEnvelope } = sealProviderKey(before, PROVIDER_KEY, ALICE);
    const after = Keyring.from([
      { id: 'k2', key: randomBytes(32) },
      { id: 'k1', key: old },
    ]);
    expect(openProviderKey(after, oldEnvelope, ALICE)).toBe(PROVIDER_KEY);
    const { envelope: newEnvelope, keyId } = sealProviderKey(after, PROVIDER_KEY, ALICE);
    expect(keyId).toBe('k2');
    expect(readEnvelopeKeyId(oldEnvelope)).toBe('k1');
    expect(readEnvelopeKeyId(newEnvelope)).toBe('k2');
    expect(openProviderKey(after, newEnvelope, ALICE)).toBe(PROVIDER_KEY);
  });
});
