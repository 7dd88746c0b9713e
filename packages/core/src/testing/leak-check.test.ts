import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { keyHint } from '../keys/secret-key.js';
import { findKeyLeaks } from './leak-check.js';

describe('the canary leak check', () => {
  const key = fakeProviderKey('anthropic');

  it('finds nothing in text that holds only the hint', () => {
    expect(findKeyLeaks([key], [['body', `{"hint":"${keyHint(key)}","id":"${crypto.randomUUID()}"}`]])).toEqual([]);
  });

  it('finds the whole key and any 8-character piece of it', () => {
    expect(findKeyLeaks([key], [['log', `key=${key}`]]).length).toBeGreaterThan(0);
    expect(findKeyLeaks([key], [['log', `…${key.slice(40, 48)}…`]])).toContainEqual({ where: 'log', form: 'plain', offset: 40 });
  });

  it('finds nothing in a message naming the format every key shares, and a piece past it still', () => {
    const message = 'Anthropic API keys start with sk-ant-api03-; OpenAI keys start with sk-proj- and hold T3BlbkFJ; Google: AIza…';
    const keys = [key, fakeProviderKey('openai'), fakeProviderKey('google')];
    expect(findKeyLeaks(keys, [['message', message]])).toEqual([]);
    expect(findKeyLeaks([key], [['message', `start with ${key.slice(0, 14)}`]])).toContainEqual({
      where: 'message',
      form: 'plain',
      offset: 6,
    });
  });

  it('finds the key base64-encoded at any alignment', () => {
    for (const prefix of ['', 'a', 'ab']) {
      const text = btoa(prefix + key.slice(20, 60));
      expect(findKeyLeaks([key], [['header', text]]).some((leak) => leak.form === 'base64')).toBe(true);
    }
  });

  it('finds a key with characters that URL encoding or JSON escaping changes', () => {
    const odd = 'sk-test-fake/+= "quoted" value\\with/slashes';
    expect(findKeyLeaks([odd], [['url', encodeURIComponent(odd)]]).some((leak) => leak.form === 'url-encoded')).toBe(true);
    expect(findKeyLeaks([odd], [['json', JSON.stringify(odd)]]).some((leak) => leak.form === 'json-escaped')).toBe(true);
  });
});
