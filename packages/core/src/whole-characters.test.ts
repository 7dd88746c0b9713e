import { describe, expect, it } from 'vitest';
import { seededRandom } from './testing/seeded-random.js';
import { characterCount, compareCodePoints, hasAtMostCharacters, wholeCharacterEnd } from './whole-characters.js';

// Characters from each range that UTF-16 treats apart: ASCII, below the surrogates, the surrogates' own
// neighbours U+E000–U+FFFF (private use, full-width forms), past U+FFFF (emoji, CJK extension B), and lone halves.
const SAMPLES = [
  'a',
  'Z',
  'é',
  '\u3042',
  '\uD7FF',
  '\uE000',
  '\uFF21',
  '\uFFFF',
  '\u{10000}',
  '\u{1F600}',
  '\u{20BB7}',
  '\uD83D',
  '\uDE00',
];

function randomTexts(count: number): string[] {
  const random = seededRandom(20261205);
  return Array.from({ length: count }, () =>
    Array.from({ length: Math.floor(random() * 6) }, () => SAMPLES[Math.floor(random() * SAMPLES.length)]).join(''),
  );
}

/** Code-point order as the definition gives it: each string as its code points, compared in turn. */
function byCodePoints(a: string, b: string): number {
  const left = [...a].map((character) => character.codePointAt(0)!);
  const right = [...b].map((character) => character.codePointAt(0)!);
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    if (left[index] !== right[index]) return left[index]! - right[index]!;
  }
  return left.length - right.length;
}

describe('counting characters as zod, JSON Schema and PostgreSQL do', () => {
  it('counts an emoji as one character and a lone surrogate as one', () => {
    expect(characterCount('')).toBe(0);
    expect(characterCount('\u{1F600}\u{1F600}é')).toBe(3);
    expect(characterCount('a\uD83D')).toBe(2);
    expect(characterCount('\uDE00\uD83D')).toBe(2);
    for (const text of randomTexts(500)) expect(characterCount(text)).toBe([...text].length);
  });

  it('takes 255 emoji within 255 characters and refuses 256', () => {
    expect(hasAtMostCharacters('\u{1F600}'.repeat(255), 255)).toBe(true);
    expect(hasAtMostCharacters('\u{1F600}'.repeat(256), 255)).toBe(false);
    expect(hasAtMostCharacters('x'.repeat(256), 255)).toBe(false);
  });
});

describe('cutting text between characters', () => {
  it('moves a cut that falls inside a surrogate pair before the pair, and leaves any other cut', () => {
    expect(wholeCharacterEnd('ab\u{1F600}c', 3)).toBe(2);
    expect(wholeCharacterEnd('ab\u{1F600}c', 4)).toBe(4);
    expect(wholeCharacterEnd('ab\u{1F600}c', 2)).toBe(2);
    expect(wholeCharacterEnd('abc', 10)).toBe(3);
    for (const text of randomTexts(500)) {
      for (let end = 0; end <= text.length; end++) {
        const cut = text.slice(0, wholeCharacterEnd(text, end));
        expect(end - cut.length).toBeLessThanOrEqual(1);
        // Only a surrogate that was lone already may end the cut text.
        if (text.isWellFormed()) expect(cut.isWellFormed()).toBe(true);
      }
    }
  });
});

describe('ordering text as PostgreSQL\'s COLLATE "C" does', () => {
  it("puts a full-width letter (U+FF21) before a character past U+FFFF, unlike JS's <", () => {
    expect('\u{20BB7}' < '\uFF21').toBe(true);
    expect(compareCodePoints('\uFF21', '\u{20BB7}')).toBeLessThan(0);
    expect(compareCodePoints('\u{20BB7}', '\uFF21')).toBeGreaterThan(0);
    expect(compareCodePoints('ab', 'ab')).toBe(0);
    expect(compareCodePoints('ab', 'abc')).toBeLessThan(0);
  });

  it('orders well-formed text exactly as code points compare', () => {
    const texts = randomTexts(300).filter((text) => text.isWellFormed());
    for (const a of texts.slice(0, 60)) {
      for (const b of texts) expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(byCodePoints(a, b)));
    }
  });
});
