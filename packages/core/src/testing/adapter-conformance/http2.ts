// byokit served over HTTP/2 (h2c, or TLS with ALPN): what a client sees of the mount through Node's own HTTP/2 client.
// HTTP/2 ends a request that a client gives up on with RST_STREAM, not by closing the connection, and Node's
// compatibility response (Http2ServerResponse) says so differently from HTTP/1's ServerResponse: the mount must
// still find the client gone, abort the provider call, record it as aborted, and keep the connection's other streams.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Provider } from '../../keys/providers.js';
import { mountWithUserKeys } from './exchange.js';
import { heldBack, longAnsweringProvider } from './slow-readers.js';
import { OPENAI_MODEL, STREAMED_CHATS } from './scenarios.js';
import { authorizationOf, PRINCIPALS, type Side } from './world.js';
import type { ConformanceMountOptions, MountedAdapter } from './types.js';

/** A running HTTP/2 host: `baseUrl` is `http://…` for h2c (prior knowledge) or `https://…` with `ca` its certificate. */
export interface MountedHttp2Adapter extends MountedAdapter {
  /** The server certificate (PEM) the client is to trust, for `https://`. */
  ca?: string;
}

/** Starts an HTTP/2 server on 127.0.0.1 with `options.byokit` mounted at `options.prefix`. */
export type MountHttp2Adapter = (options: ConformanceMountOptions) => Promise<MountedHttp2Adapter>;

const PREFIX = '/v2';

/** The provider's events this far apart: a stream lasts long after the client has left it. */
const GAP_MS = 50;

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2): a mount that set one would have its answer refused or the header lost. */
const CONNECTION_SPECIFIC = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

interface Http2Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * byokit's routes over HTTP/2, as a vitest suite, on a mount of your own (`http2.createServer()`, or
 * `http2.createSecureServer({ allowHTTP1: true })` returning its certificate as `ca`):
 * - plain answers, errors and HEAD arrive as over HTTP/1.1, with no connection-specific header, and a body over a
 *   route's limit is 413 with the connection's other streams unharmed;
 * - a streamed chat arrives whole, its `: keep-alive` comments first while the provider is silent;
 * - a client that resets its stream (RST_STREAM), mid-stream, while the provider is silent, or before a plain
 *   answer came, aborts the provider call, which is recorded as aborted; one that resets it halfway through its
 *   body makes no provider call and no error line; the session goes on serving;
 * - a client that reads nothing of a long stream holds the provider back (the mount waits on HTTP/2's flow control
 *   rather than buffering), and its reset then aborts the call.
 */
export function describeHttp2Conformance(name: string, mount: MountHttp2Adapter): void {
  describe(`HTTP/2: ${name}`, () => {
    let side: Side;
    let adapter: MountedHttp2Adapter;
    let session: ClientHttp2Session;

    beforeAll(async () => {
      ({ side, adapter } = await mountWithUserKeys(mount, PREFIX, { streamKeepAliveMs: 100 }));
      session = connect(adapter.baseUrl, adapter.ca === undefined ? {} : { ca: adapter.ca });
      session.on('error', () => {});
      side.mock.setChunkGapMs(GAP_MS);
    });
    afterAll(async () => {
      session?.destroy();
      await adapter?.close();
      await side?.close();
    });

    /** Opens a stream on the suite's session: the request's head, and its body if any, sent at once. */
    const open = (method: string, path: string, headers: Record<string, string>, body?: string): ClientHttp2Stream => {
      const stream = session.request({ ':method': method, ':path': `${PREFIX}${path}`, ...headers }, { endStream: body === undefined });
      stream.on('error', () => {});
      if (body !== undefined) stream.end(body);
      return stream;
    };
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) =>
      new Promise<Http2Answer>((resolve, reject) => {
        const stream = open(method, path, headers, body);
        let head: IncomingHttpHeaders = {};
        let text = '';
        stream.setEncoding('utf8');
        stream.on('response', (received) => (head = received));
        stream.on('data', (piece: string) => (text += piece));
        stream.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text }));
        stream.on('close', () => reject(new Error(`the stream closed unanswered (code ${stream.rstCode})`)));
        stream.on('error', reject);
      });
    const json = { ...authorizationOf('user'), 'content-type': 'application/json' };
    const usageStatusOf = async (requestId: string) =>
      (await side.byokit.usage.events(PRINCIPALS.user.userId)).records.find((record) => record.requestId === requestId)?.status;
    /** Resolves once `stream` has received a piece of body that `test` accepts, with all it received by then. */
    const received = (stream: ClientHttp2Stream, test: (text: string) => boolean) =>
      new Promise<string>((resolve, reject) => {
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (piece: string) => {
          text += piece;
          if (test(text)) resolve(text);
        });
        stream.on('close', () => reject(new Error(`the stream closed first, having received ${JSON.stringify(text)}`)));
      });
    /** byokit's log lines about one request. */
    const linesOf = (requestId: string) =>
      side.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.requestId === requestId);
    /** Resets the stream as a browser does for a fetch aborted or a tab closed. */
    const reset = (stream: ClientHttp2Stream) => stream.close(constants.NGHTTP2_CANCEL);
    const expectStillServing = async () => {
      const status = await send('GET', '/users/me/api-key-status', authorizationOf('user'));
      expect(status.status).toBe(200);
    };
    /** Resets the stream, then: its provider call aborted, recorded as aborted, and the session serving on. */
    const expectResetAbortsTheCall = async (stream: ClientHttp2Stream, provider: Provider, requestId: string) => {
      reset(stream);
      const upstream = await side.mock.waitForRequest((request) => request.provider === provider && request.aborted, {
        timeoutMs: 5_000,
      });
      expect(upstream.aborted).toBe(true);
      await expect.poll(() => usageStatusOf(requestId), { timeout: 5_000 }).toBe('aborted');
      await expectStillServing();
    };

    it('answers a plain GET, its error and HEAD as over HTTP/1.1, with no connection-specific header', async () => {
      const ok = await send('GET', '/users/me/api-key-status', { ...authorizationOf('user'), 'x-request-id': 'h2-status' });
      expect([ok.status, ok.headers['x-request-id'], ok.headers['content-type']]).toEqual([
        200,
        'h2-status',
        'application/json; charset=utf-8',
      ]);
      expect(JSON.parse(ok.body).has_anthropic_key).toBe(true);
      const refused = await send('GET', '/users/me/api-key-status', {});
      expect([refused.status, JSON.parse(refused.body).error.code]).toEqual([401, 'unauthenticated']);
      const head = await send('HEAD', '/users/me/api-key-status', authorizationOf('user'));
      expect([head.status, head.body]).toEqual([200, '']);
      for (const answer of [ok, refused, head]) expect(CONNECTION_SPECIFIC.filter((header) => header in answer.headers)).toEqual([]);
    });

    it('refuses a body over the route limit with 413, declared or not, and serves the session on', async () => {
      const big = JSON.stringify({ openai_api_key: 'x'.repeat(64 * 1024) });
      for (const headers of [{ ...json, 'content-length': String(big.length) }, json]) {
        const answer = await send('PATCH', '/users/me/api-key', headers, big);
        expect([answer.status, JSON.parse(answer.body).error.code]).toEqual([413, 'payload_too_large']);
      }
      await expectStillServing();
    });

    for (const { route, provider, body } of STREAMED_CHATS) {
      it(`streams POST ${route} (${provider}) whole, and a client that resets it mid-stream aborts the provider call`, async () => {
        // Read whole without the gaps (the OpenAI answer has hundreds of events); then left with them.
        side.mock.setChunkGapMs(0);
        const whole = await send('POST', route, json, JSON.stringify(body)).finally(() => side.mock.setChunkGapMs(GAP_MS));
        expect([whole.status, whole.headers['content-type']]).toEqual([200, 'text/event-stream; charset=utf-8']);
        expect(whole.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
        expect(CONNECTION_SPECIFIC.filter((header) => header in whole.headers)).toEqual([]);

        side.mock.reset();
        const requestId = `h2-reset-${provider}`;
        const stream = open('POST', route, { ...json, 'x-request-id': requestId }, JSON.stringify(body));
        await received(stream, (text) => text.includes('data: '));
        await expectResetAbortsTheCall(stream, provider, requestId);
      }, 15_000);
    }

    it('passes keep-alive comments on while the provider is silent, and a reset then aborts the provider call', async () => {
      side.mock.reset();
      // After its first event (no text) the provider sends nothing for an hour: only the reset can end the call.
      side.mock.setChunkGapMs(3_600_000);
      try {
        const requestId = 'h2-reset-silent';
        const stream = open(
          'POST',
          STREAMED_CHATS[0]!.route,
          { ...json, 'x-request-id': requestId },
          JSON.stringify(STREAMED_CHATS[0]!.body),
        );
        expect(await received(stream, (text) => text.includes(': keep-alive'))).not.toContain('data: ');
        await expectResetAbortsTheCall(stream, 'anthropic', requestId);
      } finally {
        side.mock.setChunkGapMs(GAP_MS);
      }
    }, 15_000);

    it('makes no provider call for a chat whose client reset it halfway through its body, and logs no error', async () => {
      side.mock.reset();
      const requestId = 'h2-reset-mid-body';
      const body = JSON.stringify({ ...(STREAMED_CHATS[0]!.body as object), stream: false });
      const stream = session.request(
        {
          ':method': 'POST',
          ':path': `${PREFIX}${STREAMED_CHATS[0]!.route}`,
          ...json,
          'x-request-id': requestId,
          'content-length': String(body.length),
        },
        { endStream: false },
      );
      stream.on('error', () => {});
      stream.write(body.slice(0, 20));
      // Let the head and the first bytes reach the mount, so that the reset comes mid-body.
      await new Promise((resolve) => setTimeout(resolve, 100));
      reset(stream);
      await expectStillServing();
      // The request's own line is written once byokit has unwound it.
      await expect.poll(() => linesOf(requestId).some((line) => line.message === 'request'), { timeout: 5_000 }).toBe(true);
      expect(linesOf(requestId).filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
      expect(side.mock.requests).toHaveLength(0);
    });

    it('aborts the provider call of a plain chat whose client reset it before the answer came', async () => {
      side.mock.reset();
      side.mock.setAnswerDelayMs(10_000);
      try {
        const requestId = 'h2-reset-plain';
        const plain = { ...(STREAMED_CHATS[0]!.body as object), stream: false };
        const stream = open('POST', STREAMED_CHATS[0]!.route, { ...json, 'x-request-id': requestId }, JSON.stringify(plain));
        await side.mock.waitForRequest((request) => request.provider === 'anthropic');
        await expectResetAbortsTheCall(stream, 'anthropic', requestId);
      } finally {
        side.mock.setAnswerDelayMs(0);
      }
    }, 15_000);

    describe('a client that stops reading a long stream', () => {
      let provider: Awaited<ReturnType<typeof longAnsweringProvider>>;
      let longSide: Side;
      let longAdapter: MountedHttp2Adapter;
      let longSession: ClientHttp2Session;

      beforeAll(async () => {
        provider = await longAnsweringProvider();
        ({ side: longSide, adapter: longAdapter } = await mountWithUserKeys(mount, PREFIX, {
          streamKeepAliveMs: 20,
          baseUrls: { openai: provider.baseUrl },
        }));
        longSession = connect(longAdapter.baseUrl, longAdapter.ca === undefined ? {} : { ca: longAdapter.ca });
        longSession.on('error', () => {});
      });
      afterAll(async () => {
        longSession?.destroy();
        await longAdapter?.close();
        await longSide?.close();
        await provider?.close();
      });

      it('holds the provider back while it reads nothing (HTTP/2 flow control), and a reset then aborts the call', async () => {
        const requestId = 'h2-slow-reader';
        const stream = longSession.request({
          ':method': 'POST',
          ':path': `${PREFIX}/llm/chat/completions`,
          ...json,
          'x-request-id': requestId,
        });
        stream.on('error', () => {});
        stream.end(JSON.stringify({ model_id: OPENAI_MODEL.id, messages: [{ role: 'user', content: 'Write at length.' }], stream: true }));
        await new Promise((resolve) => stream.once('data', resolve));
        // From here on the client takes nothing: its stream's window stays shut, as a slow client's does.
        stream.pause();
        const call = await provider.call(1);
        await heldBack(call);
        expect(call.finished).toBe(false);
        reset(stream);
        await call.closed;
        expect(call.aborted).toBe(true);
        await expect
          .poll(
            async () =>
              (await longSide.byokit.usage.events(PRINCIPALS.user.userId)).records.find((record) => record.requestId === requestId)?.status,
            { timeout: 5_000 },
          )
          .toBe('aborted');
      }, 30_000);
    });
  });
}
