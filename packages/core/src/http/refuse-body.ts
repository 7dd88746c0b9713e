import { invalidField } from '../errors.js';
import { readAtMost } from '../bytes.js';
import { declaredLength } from './headers.js';
import type { ByokitRequest } from './types.js';

/**
 * Refuses a body sent to a route that takes none (GET, DELETE), with 422 and where its parameters go instead:
 * ignored, `DELETE /users/me/api-key` with `{"provider": "openai"}` removed every key (spec/http-api.md: unknown
 * fields are rejected, never ignored). No body, an empty one and `Content-Length: 0` pass, as many clients send
 * those. A body was sent when its declared length is over 0; with no length declared (chunked, HTTP/2, an
 * in-process caller), when it holds a byte, read no further than that; or when the host's parser (express.json())
 * handed over anything but the `{}` it makes of an empty body.
 */
export async function refuseBody(request: ByokitRequest, queryNames: readonly string[]): Promise<void> {
  if (await bodySent(request)) {
    const where =
      queryNames.length > 0
        ? `send ${queryNames.join(', ')} in the query string (?${queryNames[0]}=…), not in a body`
        : 'send the request without one';
    // An empty path is the body itself (ValidationIssue).
    throw invalidField('', `This route takes no request body: ${where}.`);
  }
}

async function bodySent(request: ByokitRequest): Promise<boolean> {
  const declared = declaredLength(request.headers);
  if (declared !== undefined) return declared > 0;
  const body = request.body;
  switch (body.kind) {
    case 'none':
      return false;
    case 'parsed':
      return !isEmptyParse(body.value);
    case 'read':
      return (await body.read(0)) === undefined;
    case 'stream':
      return (await readAtMost(body.stream, 0)) === undefined;
    default: {
      const _exhaustive: never = body;
      return _exhaustive;
    }
  }
}

/** What a host's parser leaves for no body: nothing (body-parser 2), or an empty object (body-parser 1). */
const isEmptyParse = (value: unknown) =>
  value === undefined || (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);
