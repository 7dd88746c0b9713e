// One request written byte for byte, for what fetch cannot send: a request target in absolute form, say.
import { connect } from 'node:net';

/**
 * Writes one HTTP/1.1 request over a new connection to `127.0.0.1:port`, as alice (`Authorization: Bearer alice`,
 * as byokit's own tests sign her in), and resolves the whole answer as text once the server closes the connection.
 *
 * @param requestLine - The request line as it goes on the wire: `GET http://host/v2/llm-models HTTP/1.1`.
 */
export async function rawRequest(port: number, requestLine: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\nAuthorization: Bearer alice\r\nConnection: close\r\n\r\n`);
  let answer = '';
  for await (const chunk of socket) answer += String(chunk);
  return answer;
}
