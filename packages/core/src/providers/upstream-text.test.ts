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

  it(`keeps a text of exactly ${MAX_UPSTREAM_TEXT} characters whole, with no ellipsis saying it was cut`, () => {
    const text = 'word '.repeat(MAX_UPSTREAM_TEXT / 5 - 1) + 'last.';
    expect(text).toHaveLength(MAX_UPSTREAM_TEXT);
    expect(upstreamText(text)).toBe(text);
  });

  // A JSON answer holding half a surrogate pair is refused by strict parsers (Rust's serde_json, Swift's
  // JSONDecoder) and shown as U+FFFD by the rest: the cut keeps or drops a character whole.
  it('never cuts a provider message inside an emoji, so the error answered is well-formed Unicode', () => {
    for (const before of ['', 'é', 'ab']) {
      const text = upstreamText(`${before}${'\u{1F600}'.repeat(200)}`);
      expect(text.isWellFormed()).toBe(true);
      expect(text.length).toBeLessThanOrEqual(MAX_UPSTREAM_TEXT + 1);
      expect(text.endsWith('\u{1F600}…')).toBe(true);
    }
  });

  it('drops a run of key characters the cut would split, rather than leave its first part', () => {
    const run = 'q7Zr2Kp9Xw4Lm8Tn3Vb6Yc1Hd5Jf0Gs';
    const text = `${'a '.repeat(140)}${run} tail`;
    expect(upstreamText(text)).toBe(`${'a '.repeat(140)}…`);
  });
});
