// Request targets as a client may write them on the wire, beyond the origin form fetch sends: each must be answered
// on the mount as its origin form is (RFC 9112 §3.2), or, when it is not byokit's, left to the host as
// `unknownPaths` says. Written byte for byte over node:net, as no client library sends most of them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../raw-request.js';
import { HOST_ANSWER_HEADER, type AdapterConformanceOptions, type MountAdapter, type MountedAdapter } from './types.js';
import { authenticate, authorizationOf, randomKeyring, startSide, type Side } from './world.js';

/** The request id every request here sends, so that two answers to one question are the same bytes. */
const REQUEST_ID = 'conformance-target';

/** What a target is compared on: the status, who answered, the media type and the body. */
interface TargetAnswer {
  status: string;
  byHost: boolean;
  contentType: string | undefined;
  body: string;
}

/** Sends `GET target` as the suite's user and reads the answer. */
async function get(adapter: MountedAdapter, target: string): Promise<TargetAnswer> {
  const port = Number(new URL(adapter.baseUrl).port);
  const answer = await rawRequest(port, `GET ${target} HTTP/1.1`, { ...authorizationOf('user'), 'x-request-id': REQUEST_ID });
  const headEnd = answer.indexOf('\r\n\r\n');
  const [statusLine = '', ...headerLines] = answer.slice(0, headEnd).split('\r\n');
  const headers = new Map(
    headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return {
    status: statusLine,
    byHost: headers.has(HOST_ANSWER_HEADER),
    contentType: headers.get('content-type'),
    body: answer.slice(headEnd + 4),
  };
}

/**
 * Targets that are byokit's routes written another way, each with the origin form it must be answered as (the same
 * mount's answer to it). A target in absolute form (a proxy's, or any client's: a server must accept it, RFC 9112
 * §3.2.2) is taken by its path and query whatever its authority, as Express, Fastify and Hono route their own.
 */
const SAME_AS = (baseUrl: string, prefix: string): Array<[target: string, originForm: string]> => [
  [`${baseUrl}${prefix}/users/me/api-key-status`, `${prefix}/users/me/api-key-status`],
  [`http://api.example.com${prefix}/llm-models?is_active=true`, `${prefix}/llm-models?is_active=true`],
  // A fragment is no part of a request target (RFC 9112 §3.2; RFC 9110 §7.1): a client never sends one, and Express,
  // Fastify and fetch hosts route a target that has one by what comes before it. So does byokit.
  [`${prefix}/users/me/api-key-status#top`, `${prefix}/users/me/api-key-status`],
  [`${prefix}/llm-models?is_active=true#x`, `${prefix}/llm-models?is_active=true`],
  [`${prefix}/llm-models#?is_active=false`, `${prefix}/llm-models`],
  [`${prefix}/llm-models/#`, `${prefix}/llm-models`],
  // An empty query is no query.
  [`${prefix}/users/me/api-key-status?`, `${prefix}/users/me/api-key-status`],
];

/**
 * Targets that are no route of byokit's: the host answers them, or the mount's contract 404. Unknown paths in absolute
 * form; and a route's path written another way that byokit does not take as it (docs/http-api.md, "How a request
 * target is read"): doubled slashes, an escaped letter or slash in its fixed words, `;params`, other letter case (but
 * in the prefix, which Express matches in any case unless told otherwise).
 */
const NOT_BYOKITS = (baseUrl: string, prefix: string): string[] => [
  `${baseUrl}${prefix}/not-a-route`,
  `${baseUrl}/elsewhere${prefix}`,
  // A user name and password in the target's authority: RFC 9110 §4.2.4 asks a recipient to treat it as an error (it
  // is likely there to pass one host off as another), and a fetch Request cannot hold one.
  `http://user:secret@api.example.com${prefix}/users/me/api-key-status`,
  `/${prefix}/users/me/api-key-status`,
  `${prefix}//users/me/api-key-status`,
  `${prefix}/users/me/api-key-status//`,
  `${prefix}/users/me/api%2Dkey-status`,
  `${prefix}/%75sers/me/api-key-status`,
  `${prefix}/users%2Fme/api-key-status`,
  `${prefix}/users/me/api-key-status;v=1`,
  `${prefix}/USERS/me/api-key-status`,
];

/** The error code of a body in the contract's shape; undefined for any other. */
function errorCodeOf(body: string): unknown {
  try {
    return (JSON.parse(body) as { error?: { code?: unknown } }).error?.code;
  } catch {
    return undefined;
  }
}

export function describeRequestTargets(mount: MountAdapter, options: AdapterConformanceOptions & { prefix: string }): void {
  const { prefix } = options;

  describe('request targets as sent on the wire: each answered as its origin form is', () => {
    let side: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      side = await startSide({ keyring: randomKeyring(), environment: {}, prefix });
      adapter = await mount({ byokit: side.byokit, authenticate, prefix });
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    it('answers a target in absolute form (whatever its authority) or with a fragment as its path and query in origin form', async () => {
      // Every target's answer at once, so that a failure shows each target the mount answers otherwise.
      const answers: Array<[string, TargetAnswer]> = [];
      const expected: Array<[string, TargetAnswer]> = [];
      for (const [target, originForm] of SAME_AS(adapter.baseUrl, prefix)) {
        const answer = await get(adapter, originForm);
        expect(answer.status, `GET ${originForm}`).toBe('HTTP/1.1 200 OK');
        expected.push([target, answer]);
        answers.push([target, await get(adapter, target)]);
      }
      expect(answers).toEqual(expected);
    });

    it(`leaves a target that is no route of byokit's to ${options.unknownPaths === 'host' ? 'the host' : 'its contract 404'}`, async () => {
      const answers: Array<[string, string, boolean, unknown]> = [];
      for (const target of NOT_BYOKITS(adapter.baseUrl, prefix)) {
        const answer = await get(adapter, target);
        const code = options.unknownPaths === 'contract-404' ? errorCodeOf(answer.body) : undefined;
        answers.push([target, answer.status, answer.byHost, code]);
      }
      const expected = options.unknownPaths === 'host' ? [true, undefined] : [false, 'not_found'];
      expect(answers).toEqual(answers.map(([target]) => [target, 'HTTP/1.1 404 Not Found', ...expected]));
    });
  });
}
