// The two example servers share their host and routes; only the framework differs. Seeded requests to the
// example's own routes (signup, login, who am I) and to paths around them, with their method, media type,
// charset, body bytes and credentials changed, go to both, in the same order, and each answer must be the same:
// status, Content-Type and body (ids and tokens aside). byokit's own routes are held to this by the adapters'
// conformance suite. This test found the Express example matching /v2/users/ME (Express routes ignore case by
// default), Fastify reading a body on a path nothing answers (400 rather than 404), and the two taking different
// charsets and JSON texts that are not objects.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '@byokit/core/testing';
import { startTestServer } from '@byokit/example-host/testing';
import { expressExample } from '@byokit/example-express-server/testing';
import { fastifyExample } from './test-server.js';

const COUNT = 200;
const random = seededRandom(20261204);
const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

const MEDIA_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset="UTF-8"',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=latin1',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
];
const LOGIN_FORMS = [
  'username=probe%40example.com&password=a-long-password',
  'username=probe%40example.com&password=wrong-password',
  'username=&password=',
  'username=probe%40example.com',
  'username=a&username=b&password=c',
  'username=%zz&password=x',
  'username=a%00b&password=x',
  `username=${'x'.repeat(300)}&password=x`,
  '',
  '=&&',
  '{"username":"probe@example.com","password":"a-long-password"}',
];
const OTHER_PATHS = [
  ...['/users/signup', '/login/access-token', '/users/me', '/users/me/', '/users/ME', '/users', '/', '', '/nope', '//users/me'].map(
    (below) => `/v2${below}`,
  ),
  // byokit's own routes, through each adapter, and the prefix in another case.
  '/v2/users/me/api-key-status',
  '/v2/llm-models/',
  '/V2/users/me',
  '/V2/users/me/api-key-status',
  // The guide's pages and their script, outside the prefix.
  '/profile',
  '/profile/',
  '/Profile',
  '/language-models/billing',
  '/assets/byokit-pages.js',
];
type Credentials = 'none' | 'valid' | 'tampered' | 'basic' | 'empty bearer' | 'lower-case bearer';

interface Probe {
  method: string;
  /** The whole path, the prefix included. */
  path: string;
  contentType?: string;
  body?: Buffer;
  credentials: Credentials;
}

function probes(): Probe[] {
  let signups = 0;
  return Array.from({ length: COUNT }, () => {
    const kind = pick(['signup', 'login', 'me', 'other'] as const);
    const probe: Probe = { method: 'POST', path: '', credentials: 'none' };
    if (kind === 'signup') {
      const body: Record<string, unknown> = {
        email: pick([`p${++signups}@example.com`, 'probe@example.com', 'not-an-email', '', 'a\u0000@example.com']),
        password: pick(['a-long-password', 'short', '', 'x'.repeat(129), 'pässwörd-long']),
      };
      if (random() < 0.5) body.full_name = pick(['Ann', null, '', 'x'.repeat(300), 'a\u0000b', 5]);
      if (random() < 0.15) body.extra = 1;
      Object.assign(probe, {
        path: '/v2/users/signup',
        contentType: 'application/json',
        body: Buffer.from(JSON.stringify(random() < 0.1 ? pick([[], null, 'x', 5]) : body)),
      });
    } else if (kind === 'login') {
      Object.assign(probe, {
        path: '/v2/login/access-token',
        contentType: 'application/x-www-form-urlencoded',
        body: Buffer.from(pick(LOGIN_FORMS)),
      });
    } else if (kind === 'me') {
      Object.assign(probe, {
        method: 'GET',
        path: '/v2/users/me',
        credentials: pick(['none', 'valid', 'tampered', 'basic', 'empty bearer', 'lower-case bearer'] as const),
      });
    } else {
      Object.assign(probe, {
        method: pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD']),
        path: pick(OTHER_PATHS),
        credentials: pick(['none', 'valid'] as const),
      });
      if (random() < 0.3) Object.assign(probe, { contentType: 'application/json', body: Buffer.from('{}') });
    }
    if (random() < 0.25) probe.contentType = pick(MEDIA_TYPES);
    if (probe.body && random() < 0.15) {
      const at = Math.floor(random() * (probe.body.length + 1));
      probe.body = Buffer.concat([
        probe.body.subarray(0, at),
        Buffer.from(pick([[0xff], [0xc3], [0xef, 0xbb, 0xbf]])),
        probe.body.subarray(at),
      ]);
    }
    if (random() < 0.1) probe.method = pick(['GET', 'PUT', 'DELETE']);
    return probe;
  });
}

function authorization(credentials: Credentials, token: string): Record<string, string> {
  const value = {
    none: undefined,
    valid: `Bearer ${token}`,
    tampered: `Bearer ${token.slice(0, -3)}abc`,
    basic: 'Basic YTpi',
    'empty bearer': 'Bearer ',
    'lower-case bearer': `bearer ${token}`,
  }[credentials];
  return value === undefined ? {} : { authorization: value };
}

/** Sends the probe exactly as written, and the answer as compared: status, Content-Type, body with ids masked. */
function send(port: number, probe: Probe, headers: Record<string, string>) {
  return new Promise<{ status: number; contentType: string | null; body: string }>((resolve, reject) => {
    const sent: Record<string, string> = { ...headers, ...(probe.contentType !== undefined && { 'content-type': probe.contentType }) };
    if (probe.body) sent['content-length'] = String(probe.body.length);
    const outgoing = httpRequest(
      { host: '127.0.0.1', port, method: probe.method, path: probe.path, headers: sent, agent: false },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () =>
          resolve({
            status: incoming.statusCode!,
            contentType: incoming.headers['content-type'] ?? null,
            body: Buffer.concat(chunks)
              .toString()
              .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '(id)')
              .replace(/"access_token":"[^"]*"/, '"access_token":"(token)"'),
          }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(probe.body);
  });
}

describe(`${COUNT} seeded requests to the example's own routes`, () => {
  let servers: Array<Awaited<ReturnType<typeof startTestServer>>>;
  let tokens: string[];

  beforeAll(async () => {
    servers = [await startTestServer(expressExample), await startTestServer(fastifyExample)];
    tokens = await Promise.all(servers.map((server) => server.login('probe@example.com')));
  }, 60_000);
  afterAll(async () => {
    for (const server of servers ?? []) await server.stop();
  });

  it('get the same answer from the Fastify example as from the Express one', async () => {
    for (const [index, probe] of probes().entries()) {
      const headers = (token: string) => ({ 'x-request-id': `same-${index}`, ...authorization(probe.credentials, token) });
      const express = await send(servers[0]!.port, probe, headers(tokens[0]!));
      const fastify = await send(servers[1]!.port, probe, headers(tokens[1]!));
      const sent = `${probe.method} ${probe.path} (${probe.contentType ?? 'no Content-Type'}, ${probe.credentials}) ${JSON.stringify(String(probe.body ?? '')).slice(0, 100)}`;
      expect(fastify, sent).toEqual(express);
    }
  }, 120_000);

  // Fastify before 5.12.6 measured a body read as text by its decoded length: a byte that is not UTF-8 (a lone 0xff)
  // became U+FFFD, three bytes, and the body was refused as not matching its Content-Length, a 500 here.
  it('answer a login form and a signup body holding a byte that is not UTF-8 as the Express example does, not 500', async () => {
    const notUtf8 = (before: string, after: string) => Buffer.concat([Buffer.from(before), Buffer.from([0xff]), Buffer.from(after)]);
    const sent: Probe[] = [
      {
        method: 'POST',
        path: '/v2/login/access-token',
        contentType: 'application/x-www-form-urlencoded',
        body: notUtf8('username=probe%40example.com&password=a-long-', 'password'),
        credentials: 'none',
      },
      {
        method: 'POST',
        path: '/v2/users/signup',
        contentType: 'application/json',
        body: notUtf8('{"email":"not-utf8@example.com","password":"a-long-password","full_name":"Ann', '"}'),
        credentials: 'none',
      },
    ];
    for (const probe of sent) {
      const express = await send(servers[0]!.port, probe, {});
      const fastify = await send(servers[1]!.port, probe, {});
      expect(fastify.status, probe.path).toBeLessThan(500);
      expect(fastify, probe.path).toEqual(express);
    }
  });
});
