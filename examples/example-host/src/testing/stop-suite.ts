import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { startTestServer } from './test-server.js';
import type { ExampleServer } from './example-server.js';

/** A raw connection to the server, to send a request piece by piece and to hold the connection as a client may. */
async function rawConnection(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.setEncoding('utf8').on('data', (text: string) => (received += text));
  const closedByServer = once(socket, 'close').then(() => received);
  return { socket, received: () => received, closedByServer };
}

/** The final answer's head, lower-cased, after any interim "100 Continue". */
const head = (answer: string) =>
  answer
    .replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '')
    .split('\r\n\r\n')[0]!
    .toLowerCase();

/**
 * Stopping does not wait on clients: a connection busy when the server stops is ended once its answer is
 * sent, though the client (like fetch's keep-alive pool) would keep it for the next request.
 */
export function describeStop(example: ExampleServer): void {
  describe('stopping the example server with clients still connected', () => {
    it('answers a request still arriving when it stops, with Connection: close, ends that connection, and stops', async () => {
      const server = await startTestServer(example);
      const client = await rawConnection(server.port);
      const body = JSON.stringify({ email: 'stopping@example.com', password: 'a-long-password' });
      // With Expect: 100-continue, Node answers "100 Continue" once it has the request's head: the request is in.
      client.socket.write(
        `POST /v2/users/signup HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n${body.slice(0, 10)}`,
      );
      await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/);

      const stopped = server.stop();
      client.socket.write(body.slice(10));
      const answer = await client.closedByServer;
      await stopped;

      expect(head(answer)).toMatch(/^http\/1\.1 200 /);
      expect(head(answer)).toContain('connection: close');
    });

    it('ends a connection whose answer was sent while its request body was still arriving, and stops', async () => {
      const server = await startTestServer(example);
      const token = await server.login('stopping@example.com');
      const client = await rawConnection(server.port);
      // Declared larger than any route takes: refused (413) before the body is read, while it is still coming.
      client.socket.write(
        `POST /v2/llm/chat/completions HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 3000000\r\n\r\n{"model_id":`,
      );
      await expect.poll(() => client.received()).toMatch(/\r\n\r\n/);

      const stopped = server.stop();
      const answer = await client.closedByServer;
      await stopped;

      expect(head(answer)).toMatch(/^http\/1\.1 413 /);
    });
  });
}
