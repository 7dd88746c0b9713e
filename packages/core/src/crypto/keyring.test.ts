import { inspect } from 'node:util';
import { hexToBytes, randomBytes } from '@noble/ciphers/utils.js';
import { describe, expect, it } from 'vitest';
import { isByokitError } from '../errors.js';
import { encodeBase64Url } from './base64url.js';
import { envKeyProvider, generateKeyringEntry, Keyring, keyringFromEnv, parseKeyring } from './keyring.js';
import { findKeyLeaks } from '../testing/leak-check.js';

function thrown(action: () => unknown): { code: string; message: string } {
  try {
    action();
  } catch (error) {
    if (!isByokitError(error)) throw error;
    return error;
  }
  throw new Error('expected a ByokitError');
}

/** No key material in `text`: neither the whole key nor any 8-character piece of its base64url form. */
function expectNoKeyMaterial(text: string, key: Uint8Array): void {
  const encoded = encodeBase64Url(key);
  expect(text).not.toContain(encoded);
  for (let start = 0; start + 8 <= encoded.length; start++) expect(text).not.toContain(encoded.slice(start, start + 8));
}

/** Re-spells a canonical base64url text with a stray unused low bit in its last character. */
function nonCanonical(encoded: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(encoded.charAt(encoded.length - 1));
  return encoded.slice(0, -1) + alphabet.charAt(last | 1);
}

describe('a keyring read from text', () => {
  it('takes comma-separated id:base64url entries, trims whitespace, and makes the first one primary', () => {
    const first = randomBytes(32);
    const second = randomBytes(32);
    const keyring = parseKeyring(`  k2:${encodeBase64Url(second)} ,\n k1:${encodeBase64Url(first)}  `);
    expect(keyring.primaryId).toBe('k2');
    expect(keyring.ids).toEqual(['k2', 'k1']);
    expect(keyring.has('k1')).toBe(true);
    expect(keyring.has('k3')).toBe(false);
    expect(keyring.keyFor('k1')).toEqual(first);
  });

  it('accepts what generateKeyringEntry prints', () => {
    const entry = generateKeyringEntry('2025-01_a.b');
    expect(entry).toMatch(/^2025-01_a\.b:[A-Za-z0-9_-]{43}$/);
    expect(parseKeyring(entry).primaryId).toBe('2025-01_a.b');
    expect(generateKeyringEntry()).toMatch(/^k1:/);
    expect(generateKeyringEntry()).not.toBe(generateKeyringEntry());
  });

  it.each([31, 33])('refuses a %i-byte key, saying it must be exactly 32 bytes', (length) => {
    const key = randomBytes(length);
    const error = thrown(() => parseKeyring(`k1:${encodeBase64Url(key)}`));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain(`Master key 'k1' is ${length} bytes`);
    expect(error.message).toContain('exactly 32 random bytes');
    expect(error.message).toContain("randomBytes(32).toString('base64url')");
    expectNoKeyMaterial(error.message, key);
  });

  it('refuses a non-canonical base64url key', () => {
    const key = randomBytes(32);
    const error = thrown(() => parseKeyring(`k1:${nonCanonical(encodeBase64Url(key))}`));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain("Master key 'k1' is not valid base64url");
    expect(error.message).toContain('not the canonical encoding');
    expectNoKeyMaterial(error.message, key);
  });

  it('refuses a key whose length no base64url text has, saying in one readable sentence that it may have been cut short', () => {
    const key = randomBytes(32);
    const error = thrown(() => parseKeyring(`k1:${encodeBase64Url(key).slice(0, 41)}`));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain("Master key 'k1' is not valid base64url: its length (41 characters)");
    expect(error.message).toContain('cannot be base64url: it may have been cut short. ');
    expect(error.message).not.toContain('?.');
    expectNoKeyMaterial(error.message, key);
  });

  it('refuses standard base64 and padding, saying to use unpadded base64url', () => {
    const key = randomBytes(32);
    const standard = btoa(String.fromCharCode(...key));
    const withPlus = `k1:${encodeBase64Url(key).slice(0, 42)}+`;
    expect(thrown(() => parseKeyring(withPlus)).message).toContain("use base64url ('-' and '_')");
    const padded = thrown(() => parseKeyring(`k1:${standard.replace(/\+/g, '-').replace(/\//g, '_')}`));
    expect(padded.message).toContain("remove the trailing '='");
    expectNoKeyMaterial(padded.message, key);
  });

  it('refuses illegal characters without echoing them', () => {
    const error = thrown(() => parseKeyring(`k1:${'A'.repeat(20)}*${'B'.repeat(22)}`));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain('outside A-Z a-z 0-9 - _ at position 20');
    expect(error.message).not.toContain('AAAAAAAA');
  });

  it('refuses an entry written the wrong way round (key:id) without echoing the key', () => {
    const encoded = encodeBase64Url(randomBytes(32));
    const error = thrown(() => parseKeyring(`${encoded}:k1`));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain("Keyring entry #1 has a master key before the ':'");
    expect(error.message).not.toContain(encoded.slice(0, 8));
  });

  it('refuses an entry written the wrong way round with the key in hex (hex:id) without echoing the key', () => {
    // 64 hex digits are a valid key id, and not 32 bytes as base64url: the id was quoted back in the refusal.
    const hex = Buffer.from(randomBytes(32)).toString('hex');
    const error = thrown(() => parseKeyring(`${hex}:k1`));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain("Keyring entry #1 has a master key before the ':'");
    for (let start = 0; start + 8 <= hex.length; start++) expect(error.message).not.toContain(hex.slice(start, start + 8));
    // Before a key, 64 hex digits are an id (a fingerprint), as before.
    const keyring = parseKeyring(`${hex}:${encodeBase64Url(randomBytes(32))}`);
    expect(keyring.primaryId).toBe(hex);
  });

  // A key not 32 bytes long (one cut short by a character, a 16-byte hex secret) is a valid id: written first, it was
  // quoted back whole, twice, in the refusal of what came after it ("Master key '<it>' is not valid base64url: …").
  it('never quotes back a long id when it refuses the key after it: a key cut short or of another length written first', () => {
    const cutShort = encodeBase64Url(randomBytes(32)).slice(0, 42);
    for (const id of [cutShort, Buffer.from(randomBytes(16)).toString('hex'), encodeBase64Url(randomBytes(24))]) {
      for (const text of [`${id}:k1`, `${id}:AAAA`, `${id}:${'ab'.repeat(32)}`]) {
        const error = thrown(() => parseKeyring(text));
        expect(error.code).toBe('keyring_invalid');
        expect(error.message).toMatch(/^Keyring entry #1's master key /);
        for (let start = 0; start + 8 <= id.length; start++) expect(error.message).not.toContain(id.slice(start, start + 8));
      }
    }
    // A short id, as ids are written (k1, 2026-12), is named.
    expect(thrown(() => parseKeyring('prod-2026-12-07:AAAA')).message).toMatch(/^Master key 'prod-2026-12-07' is 3 bytes/);
    // Up to 16 characters.
    expect(thrown(() => parseKeyring('prod-2026-12-07a:AAAA')).message).toMatch(/^Master key 'prod-2026-12-07a' is 3 bytes/);
  });

  it('says to remove the quotes around an entry (an env file read by `docker run --env-file` keeps them), never quoting the key', () => {
    const [first, second] = [generateKeyringEntry('k1'), generateKeyringEntry('k2')];
    for (const [text, entry] of [
      [`"${first}"`, 1],
      [`'${first}'`, 1],
      [`${first},"${second}"`, 2],
    ] as const) {
      const error = thrown(() => parseKeyring(text));
      expect([text, error.message]).toEqual([text, `Keyring entry #${entry} is in quotes: remove them, they are not part of the keyring.`]);
    }
  });

  // A keyring file (`byokit --keyring-file`, the example's data folder) written a key a line: refused as "master key
  // 'k2' is not valid base64url: it has whitespace at position 43; remove it", which, done, joined two keys in one.
  it('says to write a keyring of entries on several lines on one line, separated by commas, never quoting a key', () => {
    const [first, second] = [generateKeyringEntry('k2'), generateKeyringEntry('k1')];
    for (const text of [`${first}\n${second}`, `${first}\r\n${second}`]) {
      const error = thrown(() => parseKeyring(text));
      expect(error.message).toBe(
        'Keyring entry #1 runs over a line break: write the keyring on one line, its entries separated by commas (id:base64url,id2:base64url).',
      );
    }
    // A line break after a comma is only whitespace around an entry, trimmed as ever.
    expect(parseKeyring(`${first},\n${second}\n`).primaryId).toBe('k2');
  });

  it('suggests base64url when the key is written in hex', () => {
    const error = thrown(() => parseKeyring(`k1:${'ab'.repeat(32)}`));
    expect(error.message).toContain('looks like hex');
  });

  it('refuses an entry without an id, a stray comma, and a bad id, naming the entry', () => {
    const encoded = encodeBase64Url(randomBytes(32));
    expect(thrown(() => parseKeyring(encoded)).message).toContain("Keyring entry #1 has no ':'");
    expect(thrown(() => parseKeyring(`k1:${encoded},`)).message).toContain('Keyring entry #2 is empty');
    const badId = thrown(() => parseKeyring(`bad id:${encoded}`));
    expect(badId.message).toContain('Keyring entry #1: the key id must be 1 to 64 characters of A-Z a-z 0-9 _ . -');
    expect(thrown(() => parseKeyring(`:${encoded}`)).message).toContain('got 0 characters');
    expect(thrown(() => parseKeyring(`${'k'.repeat(65)}:${encoded}`)).message).toContain('got 65 characters');
  });

  it('refuses duplicate ids', () => {
    const text = `k1:${generateKeyringEntry().slice(3)},k1:${generateKeyringEntry().slice(3)}`;
    expect(thrown(() => parseKeyring(text)).message).toContain("Master key id 'k1' appears twice");
  });
});

describe('a keyring built from bytes', () => {
  it('refuses an empty keyring', () => {
    const error = thrown(() => Keyring.from([]));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain('The keyring is empty');
  });

  it.each([
    ['all zero', new Uint8Array(32), 'has all bytes equal'],
    ['one repeated byte', new Uint8Array(32).fill(0xa7), 'has all bytes equal'],
    ['ASCII text', new TextEncoder().encode('correct horse battery staple 123'), 'looks like a password or text'],
    ['printable random-looking text', new TextEncoder().encode('Zx8#kP2!qR9$wT4%vB7^nM1&cL6*yH3('), 'printable ASCII'],
    ['few distinct bytes', Uint8Array.from({ length: 32 }, (_, index) => 0x80 + (index % 8)), 'only 8 distinct'],
    ['one distinct byte value short of 16', Uint8Array.from({ length: 32 }, (_, index) => 0x80 + (index % 15)), 'only 15 distinct'],
    // A passphrase with accented letters is not all ASCII, yet it is text all the same.
    ['UTF-8 text with accents', new TextEncoder().encode('Mein Schlüssel für Köln 2026!'), 'looks like a password or text'],
    // The published test keys of RFC 8439 and of the XChaCha20 draft: 32 distinct bytes, and known to all.
    ['bytes counting up from 00', hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'), 'counts by a fixed step'],
    ['bytes counting up from 80', hexToBytes('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f'), 'counts by a fixed step'],
    ['bytes counting down', Uint8Array.from({ length: 32 }, (_, index) => 0xff - 3 * index), 'counts by a fixed step'],
  ])('refuses a low-entropy key (%s), saying what to fix', (_, key, expected) => {
    const error = thrown(() => Keyring.from([{ id: 'k1', key }]));
    expect(error.code).toBe('keyring_invalid');
    expect(error.message).toContain(expected);
    expect(error.message).toContain('Generate a key with');
    expectNoKeyMaterial(error.message, key);
  });

  it('refuses a bad id without echoing it', () => {
    const error = thrown(() => Keyring.from([{ id: 'k1/secret', key: randomBytes(32) }]));
    expect(error.message).toContain('Master key #1: the key id must be');
    expect(error.message).not.toContain('secret');
  });

  it('refuses to retire the primary key', () => {
    const error = thrown(() => Keyring.from([{ id: 'k1', key: randomBytes(32) }], { retired: ['k1'] }));
    expect(error.message).toContain("The primary key 'k1' cannot be retired");
  });

  it('keeps its own copy of the key bytes', () => {
    const key = randomBytes(32);
    const original = key.slice();
    const keyring = Keyring.from([{ id: 'k1', key }]);
    key.fill(0);
    expect(keyring.keyFor('k1')).toEqual(original);
  });

  it('refuses an unknown id with a clear key_decrypt_failed, and a retired id with its own message', () => {
    const keyring = Keyring.from(
      [
        { id: 'k2', key: randomBytes(32) },
        { id: 'k1', key: randomBytes(32) },
      ],
      {
        retired: ['k1'],
      },
    );
    const unknown = thrown(() => keyring.keyFor('k9'));
    expect(unknown.code).toBe('key_decrypt_failed');
    expect(unknown.message).toBe("unknown master key id 'k9': add it to BYOKIT_KEYRING");
    const retired = thrown(() => keyring.keyFor('k1'));
    expect(retired.code).toBe('key_decrypt_failed');
    expect(retired.message).toContain("master key id 'k1' is retired");
    expect(keyring.has('k1')).toBe(false);
    expect(keyring.retiredIds).toEqual(['k1']);
  });

  it('prints only ids through toString, toJSON and util.inspect', () => {
    const keys = [randomBytes(32), randomBytes(32)];
    const keyring = Keyring.from([
      { id: 'k2', key: keys[0]! },
      { id: 'k1', key: keys[1]! },
    ]);
    const printed = [String(keyring), JSON.stringify(keyring), inspect(keyring, { showHidden: true, depth: 10 })];
    for (const text of printed) {
      expect(text).toContain('k2');
      for (const key of keys) expectNoKeyMaterial(text, key);
    }
    expect(JSON.parse(JSON.stringify(keyring))).toEqual({ primaryId: 'k2', ids: ['k2', 'k1'], retiredIds: [] });
  });
});

// Read by an operator at start-up (a host's crash, the CLI's `byokit: …`), beside byokit's other refusals of a keyring
// (one that lacks or retires a stored key's id), which are sentences.
describe('each refusal of a keyring', () => {
  const good = encodeBase64Url(randomBytes(32));
  it.each<[string, () => unknown]>([
    ['an empty keyring', () => parseKeyring('')],
    ['a stray comma', () => parseKeyring(`k1:${good},`)],
    ['an entry in quotes', () => parseKeyring(`"k1:${good}"`)],
    ['an entry over a line break', () => parseKeyring(`k1:\n${good}`)],
    ['an entry without a colon', () => parseKeyring(good)],
    ['a bad id', () => parseKeyring(`a b:${good}`)],
    ['a key before its id', () => parseKeyring(`${good}:k1`)],
    ['a key that is not base64url', () => parseKeyring('k1:a+b')],
    ['a key in hex', () => parseKeyring(`k1:${'ab'.repeat(32)}`)],
    ['a 16-byte key', () => parseKeyring(`k1:${encodeBase64Url(randomBytes(16))}`)],
    ['an id twice', () => parseKeyring(`k1:${good},k1:${encodeBase64Url(randomBytes(32))}`)],
    ['no keys', () => Keyring.from([])],
    ['a key that is not bytes', () => Keyring.from([{ id: 'k1', key: good as unknown as Uint8Array }])],
    ['a retired primary', () => parseKeyring(`k1:${good}`, { retired: ['k1'] })],
    ['a bad retired id', () => parseKeyring(`k1:${good}`, { retired: ['a b'] })],
    ['BYOKIT_KEYRING unset', () => keyringFromEnv({})],
    ['a bad id to generate a key for', () => generateKeyringEntry('a b')],
  ])('words %s as a sentence: a capital first, a period last', (_, refuse) => {
    const { code, message } = thrown(refuse);
    expect(code).toBe('keyring_invalid');
    expect(message).toMatch(/^[A-Z][^]*\.$/);
    expect(message).not.toContain(good.slice(0, 8));
  });
});

// An operator copies the command from its message: copied to the end of its sentence, `node -e "…".` ran
// `console.log(…).`, a SyntaxError. And what it prints is a whole entry, id and key: set as `k1:<that value>`, it was
// `k1:k1:…`, refused.
describe('the command a refusal gives to generate a key', () => {
  it.each<[string, () => unknown]>([
    ['an empty keyring', () => parseKeyring('')],
    ['a 3-byte key', () => parseKeyring('k1:AAAA')],
    ['a key in hex', () => parseKeyring(`k1:${'ab'.repeat(32)}`)],
    ['a key that is not base64url', () => parseKeyring('k1:a+b')],
    ['BYOKIT_KEYRING unset', () => keyringFromEnv({})],
  ])('stands apart from the sentence around it, and prints the entry to use as it is (%s)', (_, refuse) => {
    const { message } = thrown(refuse);
    expect(message).toMatch(/node -e "[^"]+" /);
    expect(message).not.toMatch(/k1:</);
  });
});

describe('a keyring read from the environment', () => {
  it('refuses to start when BYOKIT_KEYRING is missing or empty, with the command that generates a key', () => {
    for (const env of [{}, { BYOKIT_KEYRING: '' }, { BYOKIT_KEYRING: '  ' }]) {
      const error = thrown(() => keyringFromEnv(env));
      expect(error.code).toBe('keyring_invalid');
      expect(error.message).toContain('BYOKIT_KEYRING is not set. Generate a key with node -e');
      expect(error.message).toContain(`console.log('k1:'+require('crypto').randomBytes(32).toString('base64url'))`);
    }
  });

  it('reads the keyring and the retired ids', () => {
    const env = {
      BYOKIT_KEYRING: `${generateKeyringEntry('k2')},${generateKeyringEntry('k1')}`,
      BYOKIT_KEYRING_RETIRED: ' k1 , k0 ',
    };
    const keyring = keyringFromEnv(env);
    expect(keyring.primaryId).toBe('k2');
    expect(keyring.retiredIds).toEqual(['k1', 'k0']);
  });

  // The old key where its id goes (BYOKIT_KEYRING_RETIRED=<key>, not k1) was taken as an id, and a keyring prints its
  // ids: util.inspect, String() and JSON.stringify of it, which say "ids only", printed the master key.
  it('refuses a master key given in BYOKIT_KEYRING_RETIRED where its id goes, quoting none of it', () => {
    const old = generateKeyringEntry('k1').slice('k1:'.length);
    const env = { BYOKIT_KEYRING: generateKeyringEntry('k2'), BYOKIT_KEYRING_RETIRED: `k0,${old}` };
    let printed = '';
    try {
      const keyring = keyringFromEnv(env);
      printed = `${inspect(keyring)} ${String(keyring)} ${JSON.stringify(keyring)}`;
    } catch (error) {
      printed = inspect(error);
      expect(error).toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringMatching(/^Retired id #2 is a master key, not its id/),
      });
    }
    expect(findKeyLeaks([old], [['keyring or its refusal', printed]])).toEqual([]);
    expect(printed).toContain('keyring_invalid');
  });

  it('reads another variable when asked', () => {
    const keyring = keyringFromEnv({ MY_KEYRING: generateKeyringEntry('m1') }, 'MY_KEYRING');
    expect(keyring.primaryId).toBe('m1');
    expect(thrown(() => keyringFromEnv({}, 'MY_KEYRING')).message).toContain('MY_KEYRING is not set');
  });

  // keyringFromEnv(process.env, process.env.MY_KEYRING): the keyring where its variable's name goes. The refusal named
  // the "variable", "k1:<the master key> is not set", into the host's start-up log.
  it('refuses a keyring, or a master key alone, given where the name of its variable goes, quoting none of it', () => {
    const entry = generateKeyringEntry('k1');
    const key = entry.slice('k1:'.length);
    for (const variable of [entry, `${entry},${generateKeyringEntry('k0')}`, key]) {
      const error = thrown(() => keyringFromEnv({ MY_KEYRING: entry }, variable));
      expect(findKeyLeaks([key], [['refusal', inspect(error)]])).toEqual([]);
      expect(error).toMatchObject({
        code: 'keyring_invalid',
        message: expect.stringMatching(/must be the name of an environment variable/),
      });
    }
  });

  it('is loaded through envKeyProvider, which rejects with keyring_invalid when unset', async () => {
    const keyring = await envKeyProvider({ BYOKIT_KEYRING: generateKeyringEntry() }).loadKeyring();
    expect(keyring.primaryId).toBe('k1');
    await expect(envKeyProvider({}).loadKeyring()).rejects.toMatchObject({ code: 'keyring_invalid' });
  });
});
