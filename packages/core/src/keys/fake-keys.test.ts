import { describe, expect, it } from 'vitest';
import { fakeProviderKey } from './fake-keys.js';
import { parseProviderKey } from './key-formats.js';
import { isPlaceholderKey } from './placeholders.js';
import { PROVIDERS } from './providers.js';

describe('fakeProviderKey', () => {
  it("makes keys in each provider's real format and length", () => {
    const anthropic = fakeProviderKey('anthropic');
    const openai = fakeProviderKey('openai');
    const google = fakeProviderKey('google');
    expect(anthropic).toMatch(/^sk-ant-api03-[A-Za-z0-9_-]{93}AA$/);
    expect(anthropic).toHaveLength(108);
    expect(openai).toMatch(/^sk-proj-[A-Za-z0-9_-]{156}$/);
    expect(openai.indexOf(btoa('OpenAI'))).toBe('sk-proj-'.length + 74);
    expect(google).toMatch(/^AIza[0-9A-Za-z_-]{35}$/);
  });

  it.each(PROVIDERS)('makes a different %s key on every call by default', (provider) => {
    expect(fakeProviderKey(provider)).not.toBe(fakeProviderKey(provider));
  });

  it('makes the same key from the same random source', () => {
    const source = (): (() => number) => {
      let state = 0;
      return () => (state = (state * 9301 + 49297) % 233280) / 233280;
    };
    expect(fakeProviderKey('anthropic', source())).toBe(fakeProviderKey('anthropic', source()));
  });

  it.each(PROVIDERS)('makes 1,000 %s keys that all parse and none of which is taken for a placeholder', (provider) => {
    for (let count = 0; count < 1000; count++) {
      const key = fakeProviderKey(provider);
      expect(isPlaceholderKey(key)).toBe(false);
      expect(parseProviderKey(provider, key).reveal()).toBe(key);
    }
  });
});
