import { readAtMost, utf8Length } from '../bytes.js';
import { ByokitError } from '../errors.js';
import { declaredLength, headerValue } from './headers.js';
import type { ByokitRequest } from './types.js';

/** Deeper JSON than any route's schema needs is refused before parsing (spec/security.md: 100,000 deep). */
export const MAX_JSON_DEPTH = 64;

/**
 * Reads a JSON request body with the route's size limit: checks the media type and that the body is not compressed
 * (415), refuses a body over the limit without reading past it (413), and refuses bad UTF-8, empty bodies,
 * excessive nesting and malformed JSON (400). Error messages never quote the body: it may hold a key.
 */
export async function readJsonBody(request: ByokitRequest, limitBytes: number): Promise<unknown> {
  const mediaType = headerValue(request.headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new ByokitError('unsupported_media_type', 'Send the body as JSON with Content-Type: application/json.');
  }
  const body = request.body;
  // A compressed body is not read as if it were plain (a gzip body was "not valid UTF-8", plain JSON labelled `br` was
  // taken): refused as RFC 9110 §15.5.16 says, unless the host's parser decoded it already.
  const coding = headerValue(request.headers, 'content-encoding')?.trim().toLowerCase();
  if (coding && coding !== 'identity' && body.kind !== 'parsed') {
    throw new ByokitError('unsupported_media_type', 'Send the body uncompressed: this API takes no Content-Encoding.');
  }
  // The length the client declared holds whoever read the body: a parser that ran first (express.json()) turns
  // an empty body into {}, and its result re-serialised drops the whitespace a body was padded with.
  const declared = declaredLength(request.headers);
  if (declared !== undefined && declared > limitBytes) throw tooLarge(limitBytes);
  if (declared === 0) throw empty();
  if (body.kind === 'parsed') {
    // The host's framework parsed it already; hold it to the same limits (a chunked body declared no length).
    // Depth first: JSON.stringify recurses, and a value nested a few thousand deep overflows its stack.
    if (!withinDepth(body.value)) throw tooDeep();
    if (utf8Length(asJson(body.value) ?? '') > limitBytes) throw tooLarge(limitBytes);
    return body.value;
  }
  const bytes =
    body.kind === 'stream'
      ? await readAtMost(body.stream, limitBytes)
      : body.kind === 'read'
        ? await body.read(limitBytes)
        : new Uint8Array();
  if (bytes === undefined) throw tooLarge(limitBytes);
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ByokitError('invalid_json', 'The request body is not valid UTF-8.');
  }
  if (text.trim() === '') throw empty();
  if (!textWithinDepth(text)) throw tooDeep();
  try {
    return JSON.parse(text);
  } catch {
    throw new ByokitError('invalid_json', 'The request body is not valid JSON.');
  }
}

/**
 * The parsed body as JSON text again. A parser that keeps big numbers whole (json-bigint) hands over a BigInt for a
 * client's `123456789012345678901`, which JSON.stringify throws on: the client's body, so a 400, not a 500.
 */
function asJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    throw new ByokitError('invalid_json', 'The request body holds a value JSON cannot hold.');
  }
}

/** Nesting depth of JSON text, counted in one pass outside strings; no recursion, so no stack to overflow. */
function textWithinDepth(text: string): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c)
        index++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) return false;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return true;
}

/** Nesting depth of an already parsed value, iteratively. */
function withinDepth(value: unknown): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > MAX_JSON_DEPTH) return false;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return true;
}

/** Stateless without `stream: true`, so one serves every request. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const tooLarge = (limitBytes: number) =>
  new ByokitError('payload_too_large', `The request body is larger than this route accepts (${limitBytes} bytes).`);
const empty = () => new ByokitError('invalid_json', 'The request body is empty; send a JSON object.');
const tooDeep = () => new ByokitError('invalid_json', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
