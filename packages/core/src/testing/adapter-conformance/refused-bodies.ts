// A body byokit refused while the client was still sending it: byokit reads only as far as it needs (a route's
// limit; one byte on a route that takes none), and the rest must still be read and dropped, or the keep-alive
// connection hangs, its next request never read and its socket held open (docs/http-api.md, "Body limits"). The
// connection must stay usable after it too: a pool's client sends its next request on it whenever it likes.
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountWithUserKeys } from './exchange.js';
import { authorizationOf, type Caller, type Side } from './world.js';
import type { MountAdapter, MountedAdapter } from './types.js';

/** One piece of a chunked body. */
const chunk = (text: string) => `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;

/**
 * What comes after the refusal: 2 MB, more than any socket buffer between client and host, or a web stream's
 * queue on the way, holds (@hono/node-server's clean-up of the rest stalled on a full queue), yet far below what
 * byokit reads and drops of a refused body (docs/http-api.md, "Body limits").
 */
const REST = chunk(`${'x'.repeat(2_000_000)}"}`) + '0\r\n\r\n';

/**
 * How long the client leaves the connection idle before its last request: past @hono/node-server's clean-up of
 * an unread body (500 ms after the answer), which closed the connection unless the body had ended by then.
 */
const IDLE_MS = 1_000;

/**
 * A keep-alive HTTP/1.1 connection over node:net, written as is. `nextAnswer` resolves the next answer once its
 * whole body (by its Content-Length, or chunked) is in, and rejects if the server closes the connection first.
 */
async function keepAliveConnection(baseUrl: string) {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let check: (() => void) | undefined;
  let closed = false;
  socket.on('data', (data: Buffer) => {
    received = Buffer.concat([received, data]);
    check?.();
  });
  socket.on('close', () => {
    closed = true;
    check?.();
  });
  const answerIn = (bytes: Buffer) => {
    const headEnd = bytes.indexOf('\r\n\r\n');
    if (headEnd === -1) return undefined;
    const head = bytes.subarray(0, headEnd).toString('latin1');
    const status = Number(head.split(' ')[1]);
    if (!/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const end = headEnd + 4 + Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      return bytes.length < end ? undefined : { status, body: bytes.subarray(headEnd + 4, end).toString('utf8'), end };
    }
    // A chunked answer (Node's when the head was written before the body): its pieces up to the empty one.
    const pieces: Buffer[] = [];
    for (let at = headEnd + 4; ;) {
      const sizeEnd = bytes.indexOf('\r\n', at);
      if (sizeEnd === -1) return undefined;
      const size = parseInt(bytes.subarray(at, sizeEnd).toString('latin1'), 16);
      const end = sizeEnd + 2 + size + 2;
      if (bytes.length < end) return undefined;
      if (size === 0) return { status, body: Buffer.concat(pieces).toString('utf8'), end };
      pieces.push(bytes.subarray(sizeEnd + 2, sizeEnd + 2 + size));
      at = end;
    }
  };
  return {
    write: (text: string) => socket.write(text),
    close: () => socket.destroy(),
    nextAnswer: () =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        check = () => {
          const answer = answerIn(received);
          if (answer) {
            check = undefined;
            received = received.subarray(answer.end);
            resolve(answer);
          } else if (closed) reject(new Error(`the server closed the connection; it had sent: ${received.toString('latin1')}`));
        };
        check();
      }),
  };
}

/** The caller's `Authorization` header line; none for the anonymous caller. */
function authorizationLine(caller: Caller): string {
  const header = authorizationOf(caller).authorization;
  return header === undefined ? '' : `Authorization: ${header}\r\n`;
}

export function describeRefusedBodies(mount: MountAdapter, prefix: string): void {
  describe('a body refused while it is still arriving: the rest is dropped, and the connection answers its next requests, at once and a second later', () => {
    let side: Side;
    let adapter: MountedAdapter;

    beforeAll(async () => {
      ({ side, adapter } = await mountWithUserKeys(mount, prefix));
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    const refusals: Array<{ what: string; method: string; path: string; as: Caller; first: string; status: number; whole?: boolean }> = [
      {
        what: "a chunked key body over the route's 8 KiB",
        method: 'PATCH',
        path: '/users/me/api-key',
        as: 'user',
        first: `{"openai_api_key":"${'x'.repeat(10_000)}`,
        status: 413,
      },
      // DELETE rather than GET, which a fetch Request cannot carry a body on. Refused, it deletes nothing (checked below).
      {
        what: 'a chunked body on a route that takes none',
        method: 'DELETE',
        path: '/users/me/api-key?provider=openai',
        as: 'user',
        first: '{"provider":',
        status: 422,
      },
      // Both again, the whole body sent without waiting for the answer, as clients do: its rest is in before byokit answers.
      {
        what: "a chunked key body over the route's 8 KiB, sent whole before the answer",
        method: 'PATCH',
        path: '/users/me/api-key',
        as: 'user',
        first: `{"openai_api_key":"${'x'.repeat(10_000)}`,
        status: 413,
        whole: true,
      },
      {
        what: 'a chunked body on a route that takes none, sent whole before the answer',
        method: 'DELETE',
        path: '/users/me/api-key?provider=openai',
        as: 'user',
        first: '{"provider":',
        status: 422,
        whole: true,
      },
      // Refused before a byte of it is read, the whole body sent without waiting for the answer.
      {
        what: 'a chunked chat body from a caller not signed in, sent whole before the answer',
        method: 'POST',
        path: '/llm/chat/completions',
        as: 'anonymous',
        first: '{"messages":',
        status: 401,
        whole: true,
      },
    ];

    for (const refusal of refusals) {
      it(
        refusal.what,
        async () => {
          const connection = await keepAliveConnection(adapter.baseUrl);
          try {
            connection.write(
              `${refusal.method} ${prefix}${refusal.path} HTTP/1.1\r\nHost: conformance\r\n${authorizationLine(refusal.as)}` +
                `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk(refusal.first)}`,
            );
            if (refusal.whole) connection.write(REST);
            expect((await connection.nextAnswer()).status).toBe(refusal.status);
            if (!refusal.whole) connection.write(REST);
            const status = `GET ${prefix}/users/me/api-key-status HTTP/1.1\r\nHost: conformance\r\n${authorizationLine('user')}\r\n`;
            connection.write(status);
            const next = await connection.nextAnswer();
            expect(next.status).toBe(200);
            expect(JSON.parse(next.body)).toMatchObject({ has_openai_key: true });
            await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
            connection.write(status);
            expect((await connection.nextAnswer()).status).toBe(200);
          } finally {
            connection.close();
          }
        },
        15_000,
      );
    }
  });
}
