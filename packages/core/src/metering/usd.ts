/**
 * Exact US-dollar amounts as `bigint` counts of a fixed small unit: no floating point anywhere, so a sum of
 * a million costs is the cost of the sum, to the last digit.
 *
 * The units, chosen so that a cost is one integer product:
 * - a price of P USD per million tokens is kept in micro-USD (10^-6 USD) per million tokens, P × 10^6,
 *   an integer for every price with at most 6 decimals ({@link USD_PRICE_DECIMALS});
 * - one token at that price costs P / 10^6 USD = P × 10^6 pico-USD (10^-12 USD), so the cost of N tokens
 *   in pico-USD is N × (the price in micro-USD per MTok), exactly, whatever N.
 *
 * Text in: a plain decimal string ("3", "0.3", "0.075"), the only spelling the contract uses for money
 * (spec/http-api.md: `"input_per_mtok_usd": "3"`, `"cost_usd": "0.000111"`). Text out: the shortest exact
 * decimal ({@link formatUsd}) or a fixed number of decimals for display ({@link formatUsdFixed}).
 */

/** Decimals a price (USD per million tokens) may have: the catalog keeps prices in micro-USD per MTok. */
export const USD_PRICE_DECIMALS = 6;

/** Decimals of the pico-USD unit costs are kept in (10^-12 USD). */
export const PICO_DECIMALS = 12;

/** Pico-USD in one US dollar. */
export const PICO_PER_USD = 10n ** 12n;

// Longer text is refused before any parsing: no price or budget needs more, and it bounds the work.
const MAX_TEXT_LENGTH = 40;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * Parses a decimal string of US dollars into a count of 10^-`decimals` USD: `parseUsd("0.075")` is
 * `75_000n` micro-USD, `parseUsd("20", 12)` is `20_000_000_000_000n` pico-USD.
 *
 * Accepts only plain decimals: digits, optionally a dot and at least one more digit. Refuses negatives,
 * exponents ("1e-6"), signs, whitespace, thousands separators, a bare dot (".5", "5."), and more decimal
 * places than the unit holds (even trailing zeros: one spelling per stored value, and nothing rounded).
 *
 * @param text - The amount, e.g. "3", "0.3", "1.25".
 * @param decimals - The unit: 6 (default) for prices in micro-USD per MTok, 12 for pico-USD.
 * @returns The amount as a whole number of units.
 * @throws TypeError saying what is wrong with the text. RangeError when `decimals` is not 0 to 18.
 */
export function parseUsd(text: string, decimals: number = USD_PRICE_DECIMALS): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 18) {
    throw new RangeError(`parseUsd: decimals must be a whole number from 0 to 18, got ${String(decimals)}`);
  }
  if (typeof text !== 'string') throw new TypeError(`A USD amount must be a decimal string, got ${typeof text}`);
  const match = DECIMAL.exec(text);
  if (text.length > MAX_TEXT_LENGTH || !match) throw new TypeError(`Invalid USD amount ${quote(text)}: ${problemWith(text)}`);
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  if (fraction.length > decimals) {
    throw new TypeError(`Invalid USD amount ${quote(text)}: it has ${fraction.length} decimal places, and at most ${decimals} are kept`);
  }
  return BigInt(whole + fraction.padEnd(decimals, '0'));
}

/**
 * Parses a decimal string of US dollars into pico-USD, the unit costs and budgets are summed in.
 *
 * @param text - The amount, e.g. "20" or "3.1415".
 * @returns The amount in pico-USD.
 * @throws TypeError as {@link parseUsd} does (more than 12 decimals included).
 */
export function usdToPico(text: string): bigint {
  return parseUsd(text, PICO_DECIMALS);
}

/**
 * Formats pico-USD as the shortest exact decimal string of US dollars: no trailing zeros, no exponent, at
 * least "0". `formatUsd(111_000_000n)` is "0.000111"; `formatUsd(parseUsd(text, 12)) === text` for every
 * canonical text. Negative amounts (a budget overspent) keep their sign.
 *
 * @param pico - An amount in pico-USD.
 * @returns The amount in US dollars, e.g. "15000", "0.3", "0".
 */
export function formatUsd(pico: bigint): string {
  const sign = pico < 0n ? '-' : '';
  const magnitude = pico < 0n ? -pico : pico;
  const whole = magnitude / PICO_PER_USD;
  const fraction = (magnitude % PICO_PER_USD).toString().padStart(PICO_DECIMALS, '0').replace(/0+$/, '');
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Formats pico-USD with exactly `decimals` decimal places, rounding half away from zero, for display where
 * the contract shows a fixed width (`"spent_usd": "3.141500"`). Rounds, so keep sums in pico-USD and
 * format last; use {@link formatUsd} for a value that must stay exact.
 *
 * @param pico - An amount in pico-USD.
 * @param decimals - Decimal places, 0 to 12 (default 6).
 * @returns The amount in US dollars, e.g. "3.141500"; never "-0.000000".
 * @throws RangeError when `decimals` is not 0 to 12.
 */
export function formatUsdFixed(pico: bigint, decimals = 6): string {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > PICO_DECIMALS) {
    throw new RangeError(`formatUsdFixed: decimals must be a whole number from 0 to 12, got ${String(decimals)}`);
  }
  const step = 10n ** BigInt(PICO_DECIMALS - decimals);
  const magnitude = pico < 0n ? -pico : pico;
  let units = magnitude / step;
  if ((magnitude % step) * 2n >= step) units += 1n;
  const sign = pico < 0n && units > 0n ? '-' : '';
  const scale = 10n ** BigInt(decimals);
  const whole = units / scale;
  return decimals === 0 ? `${sign}${whole}` : `${sign}${whole}.${(units % scale).toString().padStart(decimals, '0')}`;
}

function problemWith(text: string): string {
  if (text.length === 0) return 'it is empty';
  if (text.length > MAX_TEXT_LENGTH) return `it is longer than ${MAX_TEXT_LENGTH} characters`;
  if (text.startsWith('-')) return 'it is negative';
  if (/[eE]/.test(text)) return 'exponents are not accepted; write it out, e.g. "0.000001"';
  if (/\s/.test(text)) return 'it has whitespace';
  if (text.startsWith('+')) return 'signs are not accepted';
  if (/^\.|\.$/.test(text)) return 'a dot needs digits on both sides, e.g. "0.5"';
  return 'expected digits with an optional decimal part, e.g. "3" or "0.075"';
}

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_TEXT_LENGTH ? `${text.slice(0, MAX_TEXT_LENGTH)}…` : text);
}
