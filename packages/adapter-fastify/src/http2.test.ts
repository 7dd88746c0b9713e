import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { MAX_BODY_BYTES } from '@byokit/core';
import { describeHttp2Conformance, type ConformanceMountOptions } from '@byokit/core/testing';
import { byokitPlugin } from './index.js';

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl for this run. */
async function loopbackCertificate(): Promise<{ key: string; cert: string }> {
  const folder = await mkdtemp(join(tmpdir(), 'byokit-h2-'));
  const [key, cert] = [join(folder, 'key.pem'), join(folder, 'cert.pem')];
  try {
    await promisify(execFile)('openssl', [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The plugin's options as the README shows them, and as the HTTP/1.1 conformance suite registers it. */
const pluginOptions = ({ byokit, authenticate, prefix }: ConformanceMountOptions) => ({
  byokit,
  authenticate: (request: FastifyRequest) => authenticate(request.headers),
  prefix,
  bodyLimit: MAX_BODY_BYTES,
});
/** Listens on loopback: the app's origin, and its close. */
const listening = async (
  app: { listen: FastifyInstance['listen']; server: { address(): unknown }; close(): Promise<unknown> },
  scheme: string,
) => {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { baseUrl: `${scheme}://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: async () => void (await app.close()) };
};

describeHttp2Conformance('Fastify (http2: true, h2c)', async (options) => {
  const app = Fastify({ http2: true });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send('host: not found'));
  await app.register(byokitPlugin, pluginOptions(options));
  return listening(app, 'http');
});

describeHttp2Conformance('Fastify (http2: true, https)', async (options) => {
  const { key, cert } = await loopbackCertificate();
  const app = Fastify({ http2: true, https: { key, cert, allowHTTP1: true } });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send('host: not found'));
  await app.register(byokitPlugin, pluginOptions(options));
  return { ...(await listening(app, 'https')), ca: cert };
});
