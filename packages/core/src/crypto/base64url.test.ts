import { Buffer } from 'node:buffer';
import { randomBytes } from '@noble/ciphers/utils.js';
import { describe, expect, it } from 'vitest';
import { decodeBase64UrlStrict, encodeBase64Url } from './base64url.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function decodeError(text: string): { code: string; message: string } {
  try {
    decodeBase64UrlStrict(text);
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected decodeBase64UrlStrict to throw');
}

describe('base64url', () => {
  // RFC 4648 §10 test vectors, without padding (RFC 4648 §5, §3.2).
  it.each([
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ])('encodes and decodes the RFC 4648 vector %j as %j', (plain, encoded) => {
    expect(encodeBase64Url(utf8(plain))).toBe(encoded);
    expect(decodeBase64UrlStrict(encoded)).toEqual(utf8(plain));
  });

  it('uses - and _ where standard base64 uses + and /', () => {
    expect(encodeBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
    expect(decodeBase64UrlStrict('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
  });

  it("agrees with Node's base64url for every length from 0 to 100 bytes", () => {
    for (let length = 0; length <= 100; length++) {
      const bytes = randomBytes(length);
      const encoded = encodeBase64Url(bytes);
      expect(encoded).toBe(Buffer.from(bytes).toString('base64url'));
      expect(decodeBase64UrlStrict(encoded)).toEqual(bytes);
    }
  });

  it('refuses = padding', () => {
    const error = decodeError('Zg==');
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain("remove the trailing '='");
  });

  it('refuses standard base64 characters + and /, saying to use base64url', () => {
    expect(decodeError('+_8').message).toContain("use base64url ('-' and '_')");
    expect(decodeError('-/8').message).toContain('position 1');
  });

  it('refuses whitespace and characters outside the alphabet, including non-ASCII look-alikes', () => {
    expect(decodeError('Zm9 v').message).toContain('whitespace at position 3');
    expect(decodeError('Zm9v\n').message).toContain('whitespace');
    expect(decodeError('Zm9*').message).toContain('outside A-Z a-z 0-9 - _');
    expect(decodeError('Zm9\u0430').message).toContain('outside A-Z a-z 0-9 - _'); // Cyrillic a
  });

  it('refuses a length that cannot encode whole bytes', () => {
    expect(decodeError('Zm9vY').message).toContain('length (5 characters)');
  });

  it('refuses non-canonical encodings whose unused trailing bits are set', () => {
    // 'Zg' is canonical for "f"; 'Zh' decodes to the same byte with a stray low bit.
    expect(decodeError('Zh').message).toContain('not the canonical encoding');
    expect(decodeError('Zm9').message).toContain('not the canonical encoding');
    expect(decodeBase64UrlStrict('Zm8')).toEqual(utf8('fo'));
  });

  it('never echoes the input in its error message', () => {
    const secret = 'SECRETsecret0123+abc';
    expect(decodeError(secret).message).not.toContain('SECRET');
  });
});
