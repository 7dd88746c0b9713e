// An independent reference for money in tests: decimal text read and written here, in BigInt atto-dollars (10^-18
// USD), sharing no code with metering/usd.ts or cost.ts, so that a test of those checks them against something else.
import { MAX_TOKEN_COUNT } from '../providers/token-count.js';

const ATTO_DECIMALS = 18;
const ATTO_PER_USD = 10n ** 18n;

/** A plain decimal text ("3", "0.075", "1.500000000001") as atto-dollars, exactly. */
export function attoOf(text: string): bigint {
  const [whole = '', fraction = '', ...rest] = text.split('.');
  if (rest.length > 0 || !/^\d+$/.test(whole) || !/^\d*$/.test(fraction) || fraction.length > ATTO_DECIMALS) {
    throw new Error(`not a plain decimal: ${JSON.stringify(text)}`);
  }
  return BigInt(whole) * ATTO_PER_USD + BigInt(fraction || '0') * 10n ** BigInt(ATTO_DECIMALS - fraction.length);
}

/** Atto-dollars (0 or more) as the shortest decimal text: no trailing zeros, no exponent, "0" for none. */
export function dollarsOf(atto: bigint): string {
  if (atto < 0n) throw new Error(`a negative amount: ${atto}`);
  const digits = atto.toString().padStart(ATTO_DECIMALS + 1, '0');
  const fraction = digits.slice(-ATTO_DECIMALS).replace(/0+$/, '');
  return fraction ? `${digits.slice(0, -ATTO_DECIMALS)}.${fraction}` : digits.slice(0, -ATTO_DECIMALS);
}

/** Atto-dollars (0 or more) to exactly 6 decimals, half away from zero: the budget view's `spent_usd`. */
export function dollarsTo6(atto: bigint): string {
  const step = 10n ** 12n;
  const micro = atto / step + ((atto % step) * 2n >= step ? 1n : 0n);
  const digits = micro.toString().padStart(7, '0');
  return `${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** Prices of one call, USD per million tokens as the catalog spells them; a missing cache price is the input price. */
export interface ReferencePrices {
  input: string;
  output: string;
  cachedInput?: string;
  cacheWrite?: string;
}

/** Tokens of one call by the class each is billed in. */
export interface ReferenceTokens {
  uncachedInput: number;
  cachedInput: number;
  cacheWrite: number;
  output: number;
}

/** What one call costs, in atto-dollars: each class's tokens times its price per million tokens, over a million. */
export function referenceCost(tokens: ReferenceTokens, prices: ReferencePrices): bigint {
  const perMillion =
    BigInt(tokens.uncachedInput) * attoOf(prices.input) +
    BigInt(tokens.cachedInput) * attoOf(prices.cachedInput ?? prices.input) +
    BigInt(tokens.cacheWrite) * attoOf(prices.cacheWrite ?? prices.input) +
    BigInt(tokens.output) * attoOf(prices.output);
  const cost = perMillion / 1_000_000n;
  if (cost * 1_000_000n !== perMillion) throw new Error('a cost finer than an atto-dollar');
  return cost;
}

/**
 * Random prices and counts over the whole range: a price from the smallest the catalog takes ("0.000001") to the
 * largest ("999999.999999"), 0 included, with 0 to 6 decimals, spelt as the catalog keeps it (shortest); a count
 * from 0 to what a provider client takes ({@link MAX_TOKEN_COUNT}). The ends come often, not by chance alone.
 */
export function randomMoney(random: () => number) {
  const upTo = (max: number) => Math.floor(random() * (max + 1));
  const price = (): string => {
    const roll = random();
    if (roll < 0.1) return '0';
    if (roll < 0.2) return '0.000001';
    if (roll < 0.3) return '999999.999999';
    const whole = String(upTo(10 ** upTo(6) - 1));
    const fraction = Array.from({ length: upTo(6) }, () => String(upTo(9)))
      .join('')
      .replace(/0+$/, '');
    return fraction ? `${whole}.${fraction}` : whole;
  };
  const count = (): number => {
    const roll = random();
    return roll < 0.1 ? 0 : roll < 0.2 ? MAX_TOKEN_COUNT : upTo(MAX_TOKEN_COUNT);
  };
  const prices = (): ReferencePrices => ({
    input: price(),
    output: price(),
    ...(random() < 0.7 && { cachedInput: price() }),
    ...(random() < 0.7 && { cacheWrite: price() }),
  });
  const tokens = (): ReferenceTokens => ({ uncachedInput: count(), cachedInput: count(), cacheWrite: count(), output: count() });
  return { price, count, prices, tokens };
}
