import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Lets a stopping server end every connection as soon as it has no answer in progress. Call it before the
 * server takes requests; call what it returns when stopping begins, beside `server.close()` (or the
 * framework's close).
 *
 * Why: Node's `server.close()` ends only the connections that are between requests at that moment. One that is
 * busy (its answer still being written, or its request body still arriving after an early answer such as a
 * 413) is kept alive once it is done, and the close then waits for the client to let it go: up to the
 * keep-alive timeout the answer announced, 72 s under Fastify and 5 s under Node's default. Here an answer
 * still to be written when stopping begins says `Connection: close`, and each connection is ended once its
 * last answer is sent, as Node itself ends one after a `Connection: close` answer (end, then destroy once the
 * end is written).
 */
export function endConnectionsOnStop(server: Server): () => void {
  const connections = new Set<Socket>();
  /** Answers in progress, with their connection. */
  const answering = new Map<ServerResponse, Socket>();
  let stopping = false;

  const endIfIdle = (socket: Socket) => {
    if (!stopping || socket.destroyed) return;
    for (const busy of answering.values()) if (busy === socket) return;
    socket.end(() => socket.destroy());
  };

  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const socket = request.socket;
    answering.set(response, socket);
    if (stopping) response.shouldKeepAlive = false;
    // 'close' comes once the answer is sent, or its connection is gone.
    response.once('close', () => {
      answering.delete(response);
      endIfIdle(socket);
    });
  });

  return () => {
    stopping = true;
    for (const response of answering.keys()) if (!response.headersSent) response.shouldKeepAlive = false;
    for (const socket of connections) endIfIdle(socket);
  };
}
