import { describe, expect, it } from 'vitest';
import { MAX_UPSTREAM_TEXT, upstreamText } from './upstream-text.js';

describe('upstreamText', () => {
  it('keeps short text as the provider wrote it, keys scrubbed', () => {
    expect(upstreamText('Overloaded')).toBe('Overloaded');
    expect(upstreamText('x-api-key: abc123def')).toBe('x-api-key: [redacted]');
  });

  it(`cuts long text at ${MAX_UPSTREAM_TEXT} characters`, () => {
    expect(upstreamText(`${'word '.repeat(100)}`)).toBe(`${'word '.repeat(60)}…`);
  });

  it('drops a run of key characters the cut would split, rather than leave its first part', () => {
    const run = 'q7Zr2Kp9Xw4Lm8Tn3Vb6Yc1Hd5Jf0Gs';
    const text = `${'a '.repeat(140)}${run} tail`;
    expect(upstreamText(text)).toBe(`${'a '.repeat(140)}…`);
  });
});
