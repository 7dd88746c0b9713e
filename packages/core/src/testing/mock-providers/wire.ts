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
