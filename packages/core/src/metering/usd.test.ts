import { describe, expect, it } from 'vitest';
import { PICO_PER_USD, formatUsd, formatUsdFixed, parseUsd, usdToPico } from './usd.js';

function parseError(text: unknown, decimals?: number): string {
  try {
    parseUsd(text as string, decimals);
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return (error as Error).message;
  }
  throw new Error(`expected parseUsd(${JSON.stringify(text)}) to throw`);
}

describe('parseUsd', () => {
  it.each([
    ['3', 3_000_000n],
    ['15', 15_000_000n],
    ['0.3', 300_000n],
    ['0.075', 75_000n],
    ['1.25', 1_250_000n],
    ['3.75', 3_750_000n],
    ['0', 0n],
    ['0.000001', 1n],
    ['123456.654321', 123_456_654_321n],
  ])('reads the price %j as %s micro-USD per million tokens', (text, micro) => {
    expect(parseUsd(text)).toBe(micro);
  });

  it('reads amounts in any unit from 0 to 18 decimals', () => {
    expect(parseUsd('20', 12)).toBe(20n * PICO_PER_USD);
    expect(usdToPico('3.1415')).toBe(3_141_500_000_000n);
    expect(parseUsd('7', 0)).toBe(7n);
    expect(parseUsd('0.000000000000000001', 18)).toBe(1n);
  });

  it('keeps every digit of long amounts', () => {
    expect(parseUsd('98765432109876543210.123456')).toBe(98_765_432_109_876_543_210_123_456n);
  });

  it.each([
    ['-1', 'it is negative'],
    ['-0.5', 'it is negative'],
    ['1e-6', 'exponents are not accepted'],
    ['3E2', 'exponents are not accepted'],
    ['', 'it is empty'],
    [' 3', 'it has whitespace'],
    ['3\n', 'it has whitespace'],
    ['+3', 'signs are not accepted'],
    ['.5', 'a dot needs digits on both sides'],
    ['5.', 'a dot needs digits on both sides'],
    ['1,000', 'expected digits'],
    ['3.5.1', 'expected digits'],
    ['0x10', 'expected digits'],
    ['NaN', 'expected digits'],
    ['Infinity', 'expected digits'],
    ['$3', 'expected digits'],
    ['٣', 'expected digits'],
  ])('refuses %j: %s', (text, problem) => {
    expect(parseError(text)).toContain(problem);
  });

  it('refuses more decimals than the unit holds, trailing zeros included', () => {
    expect(parseError('0.0000001')).toBe('Invalid USD amount "0.0000001": it has 7 decimal places, and at most 6 are kept');
    expect(parseError('0.3000000')).toContain('at most 6 are kept');
    expect(parseError('0.1234567891234', 12)).toContain('at most 12 are kept');
    expect(parseError('1.5', 0)).toContain('at most 0 are kept');
  });

  it('refuses text that is not a string, or too long to be an amount', () => {
    expect(parseError(3)).toBe('A USD amount must be a decimal string, got number');
    expect(parseError(null)).toBe('A USD amount must be a decimal string, got object');
    expect(parseError('1'.repeat(41))).toContain('it is longer than 40 characters');
  });

  it('refuses a unit it cannot represent', () => {
    expect(() => parseUsd('1', -1)).toThrow(RangeError);
    expect(() => parseUsd('1', 19)).toThrow(RangeError);
    expect(() => parseUsd('1', 1.5)).toThrow(RangeError);
  });
});

describe('formatUsd', () => {
  it.each([
    [0n, '0'],
    [1n, '0.000000000001'],
    [111_000_000n, '0.000111'],
    [PICO_PER_USD, '1'],
    [15_000n * PICO_PER_USD, '15000'],
    [300_000_000_000n, '0.3'],
    [92_593_579_479_321n, '92.593579479321'],
    [-500_000_000_000n, '-0.5'],
  ])('writes %s pico-USD as %j', (pico, text) => {
    expect(formatUsd(pico)).toBe(text);
  });

  it('round-trips every canonical amount through parseUsd', () => {
    for (const text of ['0', '3', '0.3', '0.075', '1.25', '15000', '0.000000000001', '123456789012345678.999999999999']) {
      expect(formatUsd(usdToPico(text))).toBe(text);
    }
  });
});

describe('formatUsdFixed', () => {
  it('pads to the contract width', () => {
    expect(formatUsdFixed(3_141_500_000_000n)).toBe('3.141500');
    expect(formatUsdFixed(16_858_500_000_000n)).toBe('16.858500');
    expect(formatUsdFixed(0n)).toBe('0.000000');
    expect(formatUsdFixed(20n * PICO_PER_USD, 0)).toBe('20');
    expect(formatUsdFixed(1n, 12)).toBe('0.000000000001');
  });

  it('rounds half away from zero, and never prints -0', () => {
    expect(formatUsdFixed(500_000n)).toBe('0.000001');
    expect(formatUsdFixed(499_999n)).toBe('0.000000');
    expect(formatUsdFixed(-1_500_000n)).toBe('-0.000002');
    expect(formatUsdFixed(-499_999n)).toBe('0.000000');
    expect(formatUsdFixed(2_500_000_000_000n, 0)).toBe('3');
  });

  it('refuses a width it cannot represent', () => {
    expect(() => formatUsdFixed(1n, 13)).toThrow(RangeError);
    expect(() => formatUsdFixed(1n, -1)).toThrow(RangeError);
  });
});
