import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import {
  connect,
  constants,
  createSecureServer,
  createServer,
  type Http2SecureServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ByokitRequest } from '../http/types.js';
import { describeHttp2Conformance } from '../testing/adapter-conformance/http2.js';
import type { ConformanceMountOptions } from '../testing/adapter-conformance/types.js';
import { createNodeHandler } from './node-handler.js';
import type { NodeRequest } from './written-whole.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl for this run. */
async function loopbackCertificate(): Promise<{ key: string; cert: string }> {
  const folder = await mkdtemp(join(tmpdir(), 'byokit-h2-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(folder, 'key.pem'),
      '-out',
      join(folder, 'cert.pem'),
    ]);
    return { key: await readFile(join(folder, 'key.pem'), 'utf8'), cert: await readFile(join(folder, 'cert.pem'), 'utf8') };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** Core's Node handler on `server`, the host's own 404 for what byokit leaves. */
async function serveOn<Server extends Http2Server | Http2SecureServer>(
  server: Server,
  { byokit, authenticate, prefix }: ConformanceMountOptions,
  scheme: 'http' | 'https',
) {
  // Typed as a host types it: either kind of request, as a server with allowHTTP1 hands over.
  const byokitRoutes = createNodeHandler<NodeRequest>(byokit, { authenticate: (request) => authenticate(request.headers), prefix });
  server.on('request', async (request: Http2ServerRequest, response: Http2ServerResponse) => {
    if (!(await byokitRoutes(request, response))) response.writeHead(404).end('host: not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describeHttp2Conformance('the Node handler on http2.createServer() (h2c)', (options) => serveOn(createServer(), options, 'http'));

describeHttp2Conformance('the Node handler on http2.createSecureServer({ allowHTTP1: true })', async (options) => {
  const { key, cert } = await loopbackCertificate();
  return { ...(await serveOn(createSecureServer({ key, cert, allowHTTP1: true }), options, 'https')), ca: cert };
});

describe('the Node handler on HTTP/2, a stream its client reset', () => {
  it('stops writing, ends the answer and resolves, rather than waiting for ever for a drain that never comes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ended = false;
    const streaming = {
      handle: async () => ({
        status: 200,
        headers: { 'content-type': 'text/event-stream' },
        body: (async function* () {
          try {
            yield 'data: first\n\n';
            await gate;
            yield 'data: second\n\n';
            yield 'data: third\n\n';
          } finally {
            ended = true;
          }
        })(),
      }),
    };
    const byokitRoutes = createNodeHandler(streaming, { authenticate: (_request: Http2ServerRequest) => null, prefix: '/v2' });
    let served!: (served: { handled: Promise<boolean>; closed: Promise<unknown> }) => void;
    const serving = new Promise<{ handled: Promise<boolean>; closed: Promise<unknown> }>((resolve) => (served = resolve));
    const server = createServer((request, response) =>
      served({
        handled: byokitRoutes(request, response),
        closed: new Promise((resolve) => response.once('close', resolve)),
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stream = session.request({ ':path': '/v2/stream' });
      await new Promise((resolve) => stream.once('data', resolve));
      stream.close(constants.NGHTTP2_CANCEL);
      const { handled, closed } = await serving;
      // The next chunk comes once the reset has closed the response on the server.
      await closed;
      release();
      const outcome = await Promise.race([handled.then((value) => ({ resolved: value })), sleep(5_000).then(() => 'still waiting')]);
      expect([outcome, ended]).toEqual([{ resolved: true }, true]);
    } finally {
      session.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 15_000);
});

describe('the Node handler on HTTP/2, answers its client read whole', () => {
  it.each([
    ['a plain answer', () => 'done'],
    [
      'a streamed answer',
      () =>
        (async function* () {
          yield 'data: first\n\n';
          yield 'data: [DONE]\n\n';
        })(),
    ],
  ])('leaves the signal of %s unaborted once its stream has closed: the client did not go away', async (_name, body) => {
    const signals: ByokitRequest['signal'][] = [];
    const closes: Array<Promise<unknown>> = [];
    const answering = {
      handle: async (request: ByokitRequest) => {
        signals.push(request.signal);
        return { status: 200, headers: { 'content-type': 'text/plain' }, body: body() };
      },
    };
    const byokitRoutes = createNodeHandler<Http2ServerRequest>(answering, { authenticate: () => null, prefix: '/v2' });
    const server = createServer((request, response) => {
      closes.push(new Promise((resolve) => response.once('close', resolve)));
      void byokitRoutes(request, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      for (let round = 0; round < 10; round++) {
        const text = await new Promise<string>((resolve, reject) => {
          const stream = session.request({ ':path': '/v2/answer' });
          let received = '';
          stream.setEncoding('utf8').on('data', (piece: string) => (received += piece));
          stream.on('end', () => resolve(received)).on('error', reject);
        });
        expect(text).toMatch(/done|DONE/);
      }
      // Every response's close has come: aborting its signal, had it been taken for a client gone, came with it.
      await Promise.all(closes);
      expect([signals.length, signals.filter((signal) => signal?.aborted).length]).toEqual([10, 0]);
    } finally {
      session.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the Node handler on http2.createSecureServer({ allowHTTP1: true })', () => {
  it("answers an HTTP/1.1 client over TLS too, whose request and response are node:http's", async () => {
    const { key, cert } = await loopbackCertificate();
    const answering = { handle: async () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'answered' }) };
    const byokitRoutes = createNodeHandler<NodeRequest>(answering, { authenticate: () => null, prefix: '/v2' });
    const versions: string[] = [];
    const server = createSecureServer({ key, cert, allowHTTP1: true }, async (request, response) => {
      versions.push(request.httpVersion);
      if (!(await byokitRoutes(request, response))) response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
        const client = httpsRequest(`https://127.0.0.1:${(server.address() as AddressInfo).port}/v2/anything`, { ca: cert }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (piece: string) => (body += piece));
          response.on('end', () => resolve({ status: response.statusCode, body }));
        });
        client.on('error', reject).end();
      });
      expect([answer, versions]).toEqual([{ status: 200, body: 'answered' }, ['1.1']]);
    } finally {
      server.close();
    }
  });
});
