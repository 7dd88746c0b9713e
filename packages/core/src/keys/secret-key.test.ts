import { Console } from 'node:console';
import { Writable } from 'node:stream';
import util from 'node:util';
import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from './fake-keys.js';
import { SecretKey, keyHint } from './secret-key.js';

const value = fakeProviderKey('anthropic');
const key = new SecretKey('anthropic', value);
const redacted = `[SecretKey anthropic …${value.slice(-4)}]`;

/** True when the key, or any 8-character piece of it, is in `text` (the spec's canary rule). */
function revealsKey(text: string): boolean {
  for (let index = 0; index + 8 <= value.length; index++) {
    if (text.includes(value.slice(index, index + 8))) return true;
  }
  return false;
}

/** What `console.log` would print, captured from a console writing to memory. */
function consoleOutput(...items: unknown[]): string {
  let output = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      output += chunk.toString();
      done();
    },
  });
  const console = new Console({ stdout: stream, stderr: stream, colorMode: false });
  console.log(...items);
  console.error(...items);
  console.dir(items, { depth: 10 });
  console.table([{ key }]);
  return output;
}

describe('SecretKey', () => {
  it('gives the value back only through reveal()', () => {
    expect(key.reveal()).toBe(value);
    expect(key.provider).toBe('anthropic');
    expect(key.hint).toBe(`…${value.slice(-4)}`);
  });

  it('prints the redacted form through String(), template strings and concatenation', () => {
    expect(String(key)).toBe(redacted);
    expect(`${key}`).toBe(redacted);
    expect('' + key).toBe(redacted);
    expect(key.toString()).toBe(redacted);
  });

  it('serialises to the redacted form with JSON.stringify, alone or nested', () => {
    expect(JSON.stringify(key)).toBe(JSON.stringify(redacted));
    const nested = JSON.stringify({ user: { keys: [key] } });
    expect(nested).toContain(redacted);
    expect(revealsKey(nested)).toBe(false);
  });

  it('prints the redacted form through util.inspect and util.format, whatever the options', () => {
    expect(util.inspect(key)).toBe(redacted);
    const outputs = [
      util.inspect({ key }, { depth: Infinity, showHidden: true }),
      util.inspect(key, { customInspect: false, showHidden: true, getters: true }),
      util.format('%s %o %O %j %d', key, key, key, key, key),
    ];
    for (const output of outputs) expect(revealsKey(output)).toBe(false);
  });

  it('prints nothing of the key through console.log, console.error, console.dir and console.table', () => {
    const output = consoleOutput(key, { key });
    expect(output).toContain(redacted);
    expect(revealsKey(output)).toBe(false);
  });

  it('shows only provider and hint to Object.keys, Object.entries, spreading and Reflect.ownKeys', () => {
    expect(Object.keys(key)).toEqual(['provider', 'hint']);
    expect(Reflect.ownKeys(key)).toEqual(['provider', 'hint']);
    expect(revealsKey(JSON.stringify(Object.entries(key)))).toBe(false);
    expect({ ...key }).toEqual({ provider: 'anthropic', hint: key.hint });
    expect(Object.assign({}, key)).toEqual({ provider: 'anthropic', hint: key.hint });
    const seen: string[] = [];
    for (const name in key) seen.push(name);
    expect(seen).toEqual(['provider', 'hint']);
  });

  it('loses the value under structuredClone: the clone is a plain { provider, hint } object', () => {
    // Private fields are not properties, and structuredClone copies a class instance as a plain object.
    const clone: unknown = structuredClone(key);
    expect(clone).toEqual({ provider: 'anthropic', hint: key.hint });
    expect(clone).not.toBeInstanceOf(SecretKey);
    expect(revealsKey(util.inspect(clone, { showHidden: true }))).toBe(false);
  });

  it('cannot be pointed at another provider after creation', () => {
    expect(() => {
      (key as unknown as { provider: string }).provider = 'openai';
    }).toThrow(TypeError);
    expect(key.provider).toBe('anthropic');
  });

  it('hints only an ellipsis for a key shorter than 12 characters', () => {
    expect(keyHint('test-fake12')).toBe('…');
    expect(new SecretKey('openai', 'test-fake12').hint).toBe('…');
    expect(keyHint('test-fake-12')).toBe('…e-12');
  });
});
