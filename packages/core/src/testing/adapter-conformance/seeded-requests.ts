// Seeded hostile requests through the adapter, each compared with core's own answer to the same request, as
// same-answers.ts does for the scenarios: a scenario with its method, path, query, media type, request id,
// caller or body changed the way any client can change them (bad escapes, dot segments, doubled slashes, a
// body on a GET, hostile JSON values, bytes that are not UTF-8, odd media types and content codings, a chunked upload). They are
// sent over node:http exactly as written (fetch would tidy the URL first), so that whatever a framework does to
// a request before byokit sees it shows as a difference. Every refusal must leave keys, audit, budgets, catalog
// and providers as they were (spec/security.md: bad input changes nothing).
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostileJson, HOSTILE_QUERIES } from '../hostile-requests.js';
import { findKeyLeaks } from '../leak-check.js';
import { seededRandom } from '../seeded-random.js';
import { comparable, comparedHeaderNames } from './comparable.js';
import { exchangeOf, requestHeaders, sendToCore, type Answer, type Exchange } from './exchange.js';
import { inStep, startSidesAlike } from './same-answers.js';
import { CANARY_KEYS, SCENARIOS } from './scenarios.js';
import { HOST_ANSWER_HEADER, type AdapterConformanceOptions, type MountAdapter, type MountedAdapter } from './types.js';
import { MAX_USAGE_PAGE } from '../../metering/usage-record.js';
import { authenticate, OWNERS, PRINCIPALS, sideState, type Caller, type Side } from './world.js';

/**
 * How many requests, and the seed: the same requests on every run, so that a difference reproduces. Read when the
 * suite is described, not when the package is imported (docs/architecture.md: importing reads no variable of byokit's).
 */
const seededCount = () => Number(process.env.SEEDED_COUNT ?? 250);
const seededSeed = () => Number(process.env.SEEDED_SEED ?? 20261204);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const CALLERS: readonly Caller[] = ['anonymous', ...(Object.keys(PRINCIPALS) as Caller[])];
/** Whose budgets a refused request must leave alone: the scenarios set budgets for these. */
const BUDGET_USERS = Object.values(PRINCIPALS).map((principal) => principal.userId);
const MEDIA_TYPES = [
  'APPLICATION/JSON',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json;',
  ' application/json ',
  'application/json, text/plain',
  'application/merge-patch+json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'text/json',
  '*/*',
  '',
];
/** Content codings: none of them taken but `identity` (a compressed body is refused with 415). */
const CONTENT_ENCODINGS = ['gzip', 'br', 'deflate', 'identity', 'x-unknown'];
/** Request ids, one of them a user's key sent in the wrong header: it must not be echoed anywhere. */
const REQUEST_IDS = [
  ...['', ' ', 'x'.repeat(300), 'an id with spaces', 'é', 'a\tb', '"quoted"', '00000000-0000-0000-0000-000000000000'],
  CANARY_KEYS[0]!,
];

/** Ways to change the path below the prefix (the query is kept apart), mostly at its last segment. */
const PATH_EDITS: ReadonlyArray<(path: string) => string> = [
  (path) => `${path}/`,
  (path) => `${path}//`,
  (path) => path.replace('/', '//'),
  (path) => `${path}/.`,
  (path) => `${path}/..`,
  (path) => path.replace(/\/([^/]+)$/, '/./$1'),
  (path) => path.replace(/\/([^/]+)$/, '/x/../$1'),
  (path) => path.replace(/\/([^/]+)$/, (_match, segment: string) => `/${segment.toUpperCase()}`),
  (path) => path.replace(/\/([a-z])([^/]*)$/, (_match, first: string, rest: string) => `/%${first.charCodeAt(0).toString(16)}${rest}`),
  (path) => `${path}%00`,
  (path) => `${path}%zz`,
  (path) => `${path}%`,
  (path) => `${path};x=1`,
  (path) => path.replace(/\/([^/]+)\/([^/]+)$/, '/$1%2F$2'),
  (path) => path.replace(/\/([^/]+)$/, `/${'x'.repeat(200)}`),
  (path) => path.replace(/\/([^/]+)$/, '/%E0%A4%A'),
  (path) => path.replace(/\/([^/]+)$/, '/\\$1'),
];

/** Ways to change a body's bytes at `at`, or at either end. */
const BYTE_EDITS: ReadonlyArray<(bytes: Uint8Array, at: number) => Uint8Array> = [
  (bytes, at) => bytes.slice(0, at),
  (bytes, at) => Buffer.concat([bytes.slice(0, at), Buffer.from([0xff, 0xfe]), bytes.slice(at)]),
  (bytes, at) => Buffer.concat([bytes.slice(0, at), Buffer.from([0xc3]), bytes.slice(at)]),
  (bytes, at) => Buffer.concat([bytes.slice(0, at), Buffer.from([0x00]), bytes.slice(at)]),
  (bytes) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]),
  (bytes) => Buffer.concat([bytes, Buffer.from(' {}')]),
  (bytes) => Buffer.concat([bytes, bytes]),
];

/**
 * The requests: the scenarios' exchanges with one to three things changed in each; the same ones on every call.
 * `arrange` sets up what the scenario needs on the side that answers (a provider's failure, a budget).
 */
export function seededExchanges(prefix: string): Array<{ exchange: Exchange; arrange?: (side: Side) => void }> {
  const random = seededRandom(seededSeed());
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const mutateJson = hostileJson(random);
  const edits: ReadonlyArray<(exchange: Exchange, json: unknown) => void> = [
    (exchange) => void (exchange.method = pick(METHODS)),
    (exchange) => {
      const [path, query] = splitQuery(exchange.url.slice(prefix.length));
      exchange.url = prefix + pick(PATH_EDITS)(path) + query;
    },
    (exchange) => {
      const extra = pick(HOSTILE_QUERIES).replace(/^\?/, '');
      exchange.url += extra === '' ? '?' : `${exchange.url.includes('?') ? '&' : '?'}${extra}`;
    },
    (exchange) => void (exchange.contentType = pick(MEDIA_TYPES)),
    (exchange) => void (exchange.contentEncoding = pick(CONTENT_ENCODINGS)),
    (exchange) => void (exchange.requestId = pick(REQUEST_IDS)),
    (exchange) => void (exchange.as = pick(CALLERS)),
    (exchange) => void (exchange.chunked = exchange.body !== undefined),
    (exchange, json) => {
      if (json !== undefined) {
        exchange.body = new TextEncoder().encode(JSON.stringify(mutateJson(json)) ?? 'null');
      } else if (exchange.body === undefined) {
        exchange.body = new TextEncoder().encode(pick(['{}', '{"a":1}', '[]', 'x']));
        exchange.contentType = 'application/json';
      } else {
        exchange.body = pick(BYTE_EDITS)(exchange.body, Math.floor(random() * (exchange.body.byteLength + 1)));
      }
    },
  ];
  return Array.from({ length: seededCount() }, (_, index) => {
    const scenarioIndex = Math.floor(random() * SCENARIOS.length);
    const scenario = SCENARIOS[scenarioIndex]!;
    const exchange = { ...exchangeOf(scenario, scenarioIndex, prefix), requestId: `seeded-${index}` };
    for (let count = 1 + Math.floor(random() * 3); count > 0; count--) pick(edits)(exchange, scenario.json);
    return { exchange, ...(scenario.arrange && { arrange: scenario.arrange }) };
  });
}

const splitQuery = (url: string): [string, string] => {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
};

/** Sends the request over node:http with its path exactly as written, and reads the body read by read. */
function sendExactly(baseUrl: string, exchange: Exchange): Promise<Answer> {
  const { hostname, port } = new URL(baseUrl);
  const headers: Record<string, string> = requestHeaders(exchange);
  // Framed either way, whatever the method: Node sends a DELETE's body unframed unless told.
  if (exchange.body !== undefined) {
    if (exchange.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(exchange.body.byteLength);
  }
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ hostname, port, method: exchange.method, path: exchange.url, headers, agent: false }, (incoming) => {
      const decoder = new TextDecoder();
      const pieces: string[] = [];
      incoming.on('data', (chunk: Buffer) => pieces.push(decoder.decode(chunk, { stream: true })));
      incoming.once('error', reject);
      incoming.once('end', () => {
        const rest = decoder.decode();
        if (rest !== '') pieces.push(rest);
        const answerHeaders = Object.fromEntries(Object.entries(incoming.headers).map(([name, value]) => [name, String(value)]));
        resolve({ status: incoming.statusCode!, headers: answerHeaders, pieces });
      });
    });
    outgoing.once('error', reject);
    outgoing.end(exchange.body);
  });
}

/** The path and query as a WHATWG URL parser reads them, as a fetch host hands them over. */
const parsed = (url: string): string => {
  const { pathname, search } = new URL(url, 'http://host');
  return pathname + search;
};

/** The error code of an answer in the contract's shape or OpenAI's; `undefined` for any other body. */
function errorCode(answer: Answer): unknown {
  try {
    return (JSON.parse(answer.pieces.join('')) as { error?: { code?: unknown } }).error?.code;
  } catch {
    return undefined;
  }
}

/** How a request is named in a failure: enough to send it again by hand. */
export function described(exchange: Exchange): string {
  const body = exchange.body === undefined ? '' : ` body ${JSON.stringify(new TextDecoder().decode(exchange.body).slice(0, 200))}`;
  const type =
    (exchange.contentType === undefined ? '' : ` content-type ${JSON.stringify(exchange.contentType)}`) +
    (exchange.contentEncoding === undefined ? '' : ` content-encoding ${JSON.stringify(exchange.contentEncoding)}`);
  const upload = exchange.chunked ? ' (chunked)' : '';
  return `${exchange.method} ${exchange.url.slice(0, 200)} as ${exchange.as}, id ${JSON.stringify(exchange.requestId.slice(0, 20))}${type}${body}${upload}`;
}

/**
 * The same seeded requests straight through `handle()` on two sides that differ only in their storage: each
 * answer must be the reference's, byte for byte but for what is random (the storage conformance suite holds
 * every storage to memory storage's answers this way).
 */
export async function expectSeededAnswersAlike(reference: Side, served: Side, prefix: string): Promise<void> {
  for (const { exchange, arrange } of seededExchanges(prefix)) {
    const request = described(exchange);
    await inStep(reference, served);
    arrange?.(reference);
    arrange?.(served);
    const expected = await sendToCore(reference.byokit, prefix, exchange);
    const answer = await sendToCore(served.byokit, prefix, exchange);
    if (expected === undefined || answer === undefined) {
      expect(answer, request).toEqual(expected);
      continue;
    }
    const names = comparedHeaderNames(expected, answer);
    // A page's cursor is opaque, and each storage writes its own.
    const alike = (side: Answer) => {
      const { body, ...rest } = comparable(side, names);
      return { ...rest, body: body.replace(/"next_cursor":"[^"]*"/g, '"next_cursor":"(the storage\'s own)"') };
    };
    expect(alike(answer), request).toEqual(alike(expected));
  }
}

/** What the side keeps in the clear, for the leak check: the audit trail, the usage records and the key rows but their envelopes. */
async function storedRecords(side: Side): Promise<Array<[string, string]>> {
  const keys = (await Promise.all(OWNERS.map((owner) => side.storage.listKeys(owner)))).flat();
  const usage = await side.storage.listUsage({ limit: MAX_USAGE_PAGE });
  return [
    ['audit trail', JSON.stringify(await side.storage.listAudit({ limit: 10_000 }))],
    ['usage records', JSON.stringify(usage.records)],
    ['key rows', JSON.stringify(keys.map(({ envelope: _sealed, ...row }) => row))],
  ];
}

export function describeSeededRequests(mount: MountAdapter, options: AdapterConformanceOptions & { prefix: string }): void {
  const { prefix } = options;

  describe(`${seededCount()} seeded hostile requests: answered as core answers them, and no key leaks`, () => {
    let reference: Side;
    let served: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      [reference, served] = await startSidesAlike(prefix);
      adapter = await mount({ byokit: served.byokit, authenticate, prefix });
    });
    afterAll(async () => {
      await adapter?.close();
      await Promise.all([reference?.close(), served?.close()]);
    });

    it("every answer is the one core gives, none is a 5xx but a provider's failure, and a refusal changes nothing", async () => {
      const captured: Array<[string, string]> = [];
      for (const { exchange, arrange } of seededExchanges(prefix)) {
        const request = described(exchange);
        await inStep(reference, served);
        const before = await sideState(served, BUDGET_USERS);
        const refusedByServer = options.refusedByServer?.(splitQuery(exchange.url)[0]) === true;
        if (!refusedByServer) arrange?.(served);
        const wire = await sendExactly(adapter.baseUrl, exchange);
        captured.push([`${request}: answer`, JSON.stringify(wire)]);
        // A refused request changes nothing; a provider's refusal excepted, as the call reached it.
        if (wire.status >= 400 && !/^provider_/.test(String(errorCode(wire)))) {
          expect(await sideState(served, BUDGET_USERS), `${request}: refused, yet it changed something`).toBe(before);
        }
        if (refusedByServer) {
          // The server's own 400, before any route: not byokit's answer (no request id), and core never sees it.
          expect([wire.status, wire.headers['x-request-id']], request).toEqual([400, undefined]);
          continue;
        }
        arrange?.(reference);
        const asReceived = options.urls === 'parsed' ? parsed(exchange.url) : exchange.url;
        const expected = await sendToCore(reference.byokit, prefix, { ...exchange, url: asReceived });
        if (expected === undefined) {
          // Not byokit's: the host answers, or the adapter's own contract 404.
          const byHost = wire.headers[HOST_ANSWER_HEADER] !== undefined;
          expect([wire.status, byHost], request).toEqual([404, options.unknownPaths === 'host']);
          continue;
        }
        // A 5xx only where a provider failed (the scenarios arrange such failures), never byokit itself.
        if (expected.status >= 500) expect(errorCode(expected), `${request}: core itself`).toMatch(/^provider_/);
        const names = comparedHeaderNames(expected, wire);
        // A HEAD answer has no body on the wire; its status and headers still must match.
        const compared = (answer: Answer) => {
          const { body, ...rest } = comparable(answer, names);
          return exchange.method === 'HEAD' ? rest : { ...rest, body };
        };
        expect(compared(wire), request).toEqual(compared(expected));
      }
      const logs = [...served.logLines, ...(adapter.logLines?.() ?? [])].map(
        (line, index) => [`log line ${index}`, line] as [string, string],
      );
      expect(findKeyLeaks(CANARY_KEYS, [...captured, ...logs, ...(await storedRecords(served))])).toEqual([]);
    }, 120_000);
  });
}
