// Helpers the three provider mocks share: building answers and reshaping recorded streams.
import type { IncomingHttpHeaders } from 'node:http';
import type { MockAnswer, MockFailure } from './types.js';

/** A JSON answer. `indent` follows the provider: OpenAI and Google pretty-print their bodies, Anthropic does not. */
export function jsonAnswer(status: number, body: unknown, headers: Record<string, string>, indent?: number): MockAnswer {
  return { type: 'json', status, headers, body: JSON.stringify(body, null, indent) };
}

/** `failNext`'s answer: the body given (a string as it is), else `fallback()`, the provider's own for the status. */
export function failureAnswer(failure: MockFailure, fallback: () => unknown, headers: Record<string, string>, indent?: number): MockAnswer {
  const body = failure.body === undefined ? fallback() : failure.body;
  return {
    type: 'json',
    status: failure.status,
    headers: { ...headers, ...failure.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body, null, indent),
  };
}

/** One server-sent event as wire text (fixtures/README.md: `event: <name>\n` for Anthropic, then `data: <line>\n\n`). */
export function sseEvent(data: string, name?: string): string {
  return `${name === undefined ? '' : `event: ${name}\n`}data: ${data}\n\n`;
}

/**
 * Sends the run of text events (first text event to last) `times` times, everything around it once. Usage and
 * ids stay as recorded.
 */
export function repeatTextRun<Event>(events: Event[], isText: (event: Event) => boolean, times: number): Event[] {
  const first = events.findIndex(isText);
  if (first < 0 || times === 1) return events;
  const last = events.findLastIndex(isText);
  const run = events.slice(first, last + 1);
  return [...events.slice(0, first), ...Array.from({ length: times }, () => run).flat(), ...events.slice(last + 1)];
}

/** The events up to and including the first text event (where `streamErrorNext` breaks in). */
export function throughFirstText<Event>(events: Event[], isText: (event: Event) => boolean): Event[] {
  return events.slice(0, events.findIndex(isText) + 1);
}

/**
 * Replaces one string field's recorded value in a line of compact JSON, leaving every other byte as recorded
 * (re-serialising would change escapes such as `\u2014`).
 */
export function replaceStringField(line: string, field: string, recorded: string, value: string): string {
  const replacement = `"${field}":${JSON.stringify(value)}`;
  // A function, so that `$&` and friends in a model name are not read as replacement patterns.
  return line.replaceAll(`"${field}":${JSON.stringify(recorded)}`, () => replacement);
}

/** A header's single value (the first, if repeated). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `body` is a JSON object whose `field` is a non-empty string. */
export function hasString(body: Record<string, unknown>, field: string): boolean {
  return typeof body[field] === 'string' && body[field] !== '';
}

/**
 * Where a real model would have stopped writing the recorded answer, given the request's limits: not at all
 * (`undefined`: the recording as it is), at the first stop sequence it writes (the text ends just before it, as
 * every provider does), or after `maxTokens` tokens. A token is counted as the recording's length over its
 * recorded output token count, so the recording's own count of tokens is exactly its whole text.
 */
export type Ending =
  | { reason: 'max_tokens'; keepChars: number; outputTokens: number }
  | { reason: 'stop_sequence'; keepChars: number; outputTokens: number; sequence: string };

export interface Limits {
  /** The request's output token limit, if it set one (each provider names it differently). */
  maxTokens: number | undefined;
  /** The request's stop sequences. */
  stop: readonly string[];
}

/**
 * `text` is what would be sent (the recording, or its text run repeated); `recordedLength`/`recordedTokens` are
 * the recording's own text length and output tokens, which fix the characters per token.
 */
export function endingOf(text: string, recordedLength: number, recordedTokens: number, limits: Limits): Ending | undefined {
  const { maxTokens } = limits;
  // Whole numbers throughout: at maxTokens === recordedTokens the limit is exactly the recording's length.
  const limitChars = maxTokens === undefined ? Infinity : Math.floor((maxTokens * recordedLength) / Math.max(recordedTokens, 1));
  let stop: { index: number; sequence: string } | undefined;
  for (const sequence of limits.stop) {
    if (sequence === '') continue;
    const index = text.indexOf(sequence);
    // The model has to write the whole sequence within its token budget for it to count.
    if (index < 0 || index + sequence.length > limitChars) continue;
    if (stop === undefined || index < stop.index) stop = { index, sequence };
  }
  if (stop !== undefined) {
    const written = Math.ceil(((stop.index + stop.sequence.length) * recordedTokens) / Math.max(recordedLength, 1));
    return { reason: 'stop_sequence', keepChars: stop.index, outputTokens: Math.max(written, 1), sequence: stop.sequence };
  }
  if (maxTokens !== undefined && limitChars < text.length) {
    return { reason: 'max_tokens', keepChars: wholeCharacters(text, limitChars), outputTokens: maxTokens };
  }
  return undefined;
}

/** `count`, or one less when the cut would split a surrogate pair. */
function wholeCharacters(text: string, count: number): number {
  const code = text.charCodeAt(count - 1);
  return count > 0 && code >= 0xd800 && code <= 0xdbff ? count - 1 : count;
}

/**
 * The events with their text ending after `keepChars` characters: the event that crosses it is shortened (via
 * `withText`), later text events are left out, and every other event is kept in its place.
 */
export function cutTextEvents<Event>(
  events: Event[],
  textOf: (event: Event) => string | undefined,
  withText: (event: Event, text: string) => Event,
  keepChars: number,
): Event[] {
  let sent = 0;
  const kept: Event[] = [];
  for (const event of events) {
    const text = textOf(event);
    if (text === undefined) {
      kept.push(event);
      continue;
    }
    const room = keepChars - sent;
    if (room <= 0) continue;
    if (text.length <= room) kept.push(event);
    else kept.push(withText(event, text.slice(0, wholeCharacters(text, room))));
    sent += Math.min(text.length, room);
  }
  return kept;
}

/** A request's stop sequences: a string or an array of strings (OpenAI takes both); anything else is none. */
export function stopSequences(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** A request's token limit when it is a whole number, else `undefined` (the mock sets no limit). */
export function tokenLimit(...values: unknown[]): number | undefined {
  for (const value of values) if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  return undefined;
}
