// Every scenario through the adapter, compared with core's own answer to the same request: two byokits made
// alike (the same keyring, environment, clock and mock providers) get the same requests in the same order, one
// over HTTP through the adapter, the other straight through `byokit.handle`. Their states stay in step, so
// their answers must be the same, byte for byte, but for what is random on every call (comparable.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparable, comparedHeaderNames } from './comparable.js';
import { documentedRoutes, uncoveredRoutes } from './documented-routes.js';
import { exchangeOf, sendOverHttp, sendToCore, type Answer, type Exchange } from './exchange.js';
import { lockstep } from './lockstep.js';
import type { Storage } from '../../storage/storage.js';
import { ENVIRONMENT, isStreamed, SCENARIOS } from './scenarios.js';
import { HOST_ANSWER_HEADER, type AdapterConformanceOptions, type MountAdapter, type MountedAdapter } from './types.js';
import { authenticate, randomKeyring, startSide, type Side } from './world.js';

/**
 * How long {@link inStep} waits for the sides' usage records, by the clock rather than in looks: the storage
 * conformance suite serves one side from a database, and 200 looks 10 ms apart gave up on a record written 3 s after
 * its answer, as a loaded machine's database may. Under the scenarios' 20 s limit, so that this message is the one seen.
 */
const IN_STEP_WAIT_MS = 15_000;

/**
 * Waits until both byokits have written the same usage records: records are written just after an answer, so
 * a usage route asked at once could otherwise see one side a record short.
 */
export async function inStep(reference: Side, served: Side): Promise<void> {
  const count = async (side: Side) => (await side.storage.listUsage({ limit: 1000 })).records.length;
  const until = performance.now() + IN_STEP_WAIT_MS;
  for (;;) {
    const [left, right] = await Promise.all([count(reference), count(served)]);
    if (left === right) return;
    if (performance.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('adapter conformance: the two byokits never wrote the same number of usage records');
}

/**
 * At least this many reads of a streamed body: half the chunks core made (4 of Anthropic's 9, 2 of Google's 5,
 * 130 of OpenAI's 260). The mock sends the event after each text event only once the client has read again
 * (lockstep.ts), so an adapter that passes each chunk on gets a read per text event whatever the load, and one
 * that holds the stream back and sends it in a few writes fails.
 */
const enoughReads = (chunks: number) => Math.floor(chunks / 2);

/**
 * Two byokits made alike (one keyring, the scenarios' environment, the fixed clock), each with its own mock
 * providers: the reference, and the one served (on `servedStorage` when given, else on memory storage too).
 */
export async function startSidesAlike(prefix: string, servedStorage?: Storage): Promise<[reference: Side, served: Side]> {
  const keyring = randomKeyring();
  return Promise.all([
    startSide({ keyring, environment: ENVIRONMENT, prefix }),
    startSide({ keyring, environment: ENVIRONMENT, prefix, ...(servedStorage && { storage: servedStorage }) }),
  ]);
}

export function describeSameAnswers(mount: MountAdapter, options: AdapterConformanceOptions & { prefix: string }): void {
  const { prefix } = options;

  describe('answers every request as core does: status, contract headers and body, byte for byte', () => {
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

    it('has a scenario answered with success for every route the API description lists', async () => {
      const routes = await documentedRoutes(reference.byokit);
      expect(routes.length).toBeGreaterThan(10);
      const succeeding = SCENARIOS.filter((scenario) => scenario.status < 300);
      expect(uncoveredRoutes(routes, succeeding)).toEqual([]);
    });

    for (const [index, scenario] of SCENARIOS.entries()) {
      it(`${scenario.method} ${scenario.path.slice(0, 80)} as ${scenario.as}: ${scenario.name} (${scenario.status})`, async () => {
        const exchange = exchangeOf(scenario, index, prefix);
        await inStep(reference, served);
        scenario.arrange?.(reference);
        const expected = await sendToCore(reference.byokit, prefix, exchange);
        if (expected === undefined) throw new Error(`adapter conformance: ${scenario.path} is not a byokit route`);
        // The scenario tests what it says, whatever the adapter does.
        expect(expected.status, 'core itself').toBe(scenario.status);
        scenario.arrange?.(served);
        const pacing = lockstep();
        served.mock.setStreamPacer(pacing.pacer);
        const wire = await sendOverHttp(adapter.baseUrl, exchange, pacing.onRead);
        const names = comparedHeaderNames(expected, wire);
        expect(comparable(wire, names)).toEqual(comparable(expected, names));
        if (isStreamed(scenario) && expected.headers['content-type']?.startsWith('text/event-stream')) {
          expect(wire.pieces.length, 'reads of the streamed body').toBeGreaterThanOrEqual(enoughReads(expected.pieces.length));
          // Its length is unknown until it ends: chunked, never a length (docs/http-api.md, "Framing").
          expect(wire.headers['content-length'], 'content-length of a stream').toBeUndefined();
        } else if (wire.status !== 204) {
          // A whole answer declares its length (RFC 9112 §6.3): sent chunked instead, an HTTP/1.0 client's
          // connection could not be kept alive, and each mount would frame the same answer its own way.
          const length = new TextEncoder().encode(wire.pieces.join('')).byteLength;
          expect(wire.headers['content-length'], 'content-length').toBe(String(length));
        }
      }, 20_000);
      // HEAD is GET without the body (RFC 9110 §9.3.2): the same request as HEAD, right after it, in the same state.
      if (scenario.method !== 'GET' || scenario.json !== undefined || scenario.text !== undefined || scenario.arrange) continue;
      it(`HEAD ${scenario.path.slice(0, 80)} as ${scenario.as}: GET's status (${scenario.status}) and headers, no body`, async () => {
        const exchange: Exchange = { ...exchangeOf(scenario, index, prefix), method: 'HEAD' };
        await inStep(reference, served);
        const expected = await sendToCore(reference.byokit, prefix, exchange);
        expect(expected?.status, 'core itself').toBe(scenario.status);
        const wire = await sendOverHttp(adapter.baseUrl, exchange);
        const names = comparedHeaderNames(expected!, wire);
        expect(comparable(wire, names)).toEqual(comparable(expected!, names));
        expect(wire.pieces.join(''), 'the body').toBe('');
        // RFC 9110 §8.6: a Content-Length sent with HEAD must be the length of the body GET would have sent.
        const length = wire.headers['content-length'];
        if (length !== undefined) {
          const get = await sendToCore(reference.byokit, prefix, { ...exchange, method: 'GET' });
          expect(Number(length), 'content-length').toBe(new TextEncoder().encode(get!.pieces.join('')).byteLength);
        }
      });
    }

    describeUnknownPaths(() => adapter, options);
  });
}

/** Paths that are not byokit's: below the prefix but unknown, and outside it. */
const UNKNOWN_PATHS = (prefix: string) => [
  `${prefix}/not-a-route`,
  `${prefix}/users/me/api-key-status/more`,
  `${prefix}x/users/me/api-key-status`,
  '/elsewhere',
];

function describeUnknownPaths(adapter: () => MountedAdapter, options: AdapterConformanceOptions & { prefix: string }): void {
  for (const url of UNKNOWN_PATHS(options.prefix)) {
    const exchange: Exchange = { method: 'GET', url, as: 'user', requestId: 'conformance-unknown' };
    if (options.unknownPaths === 'host') {
      it(`GET ${url}: not byokit's, so the host answers it`, async () => {
        const wire = await sendOverHttp(adapter().baseUrl, exchange);
        expect([wire.status, wire.headers[HOST_ANSWER_HEADER] !== undefined]).toEqual([404, true]);
      });
    } else {
      it(`GET ${url}: not byokit's, answered 404 in the contract's shape`, async () => {
        const wire: Answer = await sendOverHttp(adapter().baseUrl, exchange);
        expect(wire.status).toBe(404);
        expect(wire.headers).toMatchObject({
          'content-type': 'application/json; charset=utf-8',
          'cache-control': 'no-store',
          'x-request-id': 'conformance-unknown',
        });
        expect(JSON.parse(wire.pieces.join(''))).toMatchObject({ error: { code: 'not_found', request_id: 'conformance-unknown' } });
      });
    }
  }
}
