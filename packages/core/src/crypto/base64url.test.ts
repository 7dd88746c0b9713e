import { Buffer } from 'node:buffer';
import { randomBytes } from '@noble/ciphers/utils.js';
import { describe, expect, it } from 'vitest';
import { encodeBase64Url, parseBase64Url } from './base64url.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

function decoded(text: string): Uint8Array {
  const result = parseBase64Url(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to decode, got: ${result.problem}`);
  return result.bytes;
}

function problemOf(text: string): string {
  const result = parseBase64Url(text);
  if (result.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`);
  return result.problem;
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
    expect(decoded(encoded)).toEqual(utf8(plain));
  });

  it('uses - and _ where standard base64 uses + and /', () => {
    expect(encodeBase64Url(Uint8Array.of(0xfb, 0xff))).toBe('-_8');
    expect(decoded('-_8')).toEqual(Uint8Array.of(0xfb, 0xff));
  });

  it("agrees with Node's base64url for every length from 0 to 100 bytes", () => {
    for (let length = 0; length <= 100; length++) {
      const bytes = randomBytes(length);
      const encoded = encodeBase64Url(bytes);
      expect(encoded).toBe(Buffer.from(bytes).toString('base64url'));
      expect(decoded(encoded)).toEqual(bytes);
    }
  });

  it('refuses = padding', () => {
    expect(problemOf('Zg==')).toContain("remove the trailing '='");
  });

  it('refuses standard base64 characters + and /, saying to use base64url', () => {
    expect(problemOf('+_8')).toContain("use base64url ('-' and '_')");
    expect(problemOf('-/8')).toContain('position 1');
  });

  it('refuses whitespace and characters outside the alphabet, including non-ASCII look-alikes', () => {
    expect(problemOf('Zm9 v')).toContain('whitespace at position 3');
    expect(problemOf('Zm9v\n')).toContain('whitespace');
    expect(problemOf('Zm9*')).toContain('outside A-Z a-z 0-9 - _');
    expect(problemOf('Zm9\u0430')).toContain('outside A-Z a-z 0-9 - _'); // Cyrillic a
  });

  it('refuses a length that cannot encode whole bytes', () => {
    expect(problemOf('Zm9vY')).toContain('length (5 characters)');
  });

  it('refuses non-canonical encodings whose unused trailing bits are set', () => {
    // 'Zg' is canonical for "f"; 'Zh' decodes to the same byte with a stray low bit.
    expect(problemOf('Zh')).toContain('not the canonical encoding');
    expect(problemOf('Zm9')).toContain('not the canonical encoding');
    expect(decoded('Zm8')).toEqual(utf8('fo'));
  });

  it('never echoes the input in its error message', () => {
    const secret = 'SECRETsecret0123+abc';
    expect(problemOf(secret)).not.toContain('SECRET');
  });
});
