import { describe, expect, it } from 'vitest';
import { PROVIDERS, PROVIDER_LABELS, isProvider } from './providers.js';

describe('providers', () => {
  it('recognises exactly the three provider ids', () => {
    expect(PROVIDERS.every(isProvider)).toBe(true);
    for (const value of ['Anthropic', 'OPENAI', 'gemini', '', 'toString', '__proto__', null, undefined, 1, ['google']]) {
      expect(isProvider(value)).toBe(false);
    }
  });

  it('names each provider for messages', () => {
    expect(PROVIDER_LABELS).toEqual({ anthropic: 'Anthropic', openai: 'OpenAI', google: 'Google' });
  });
});
