// One request written byte for byte, for what fetch cannot send: a request target in absolute form, say.
import { connect } from 'node:net';

/**
 * Writes one HTTP/1.1 request over a new connection to `127.0.0.1:port`, as alice (`Authorization: Bearer alice`,
 * as byokit's own tests sign her in) unless `headers` says otherwise, and resolves the whole answer as text once the
 * server closes the connection.
 *
 * @param requestLine - The request line as it goes on the wire: `GET http://host/v2/llm-models HTTP/1.1`.
 * @param headers - The header lines to send besides `Host` and `Connection: close`; default: alice's `Authorization`.
 */
export async function rawRequest(
  port: number,
  requestLine: string,
  headers: Readonly<Record<string, string>> = { authorization: 'Bearer alice' },
): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.write(`${requestLine}\r\nHost: 127.0.0.1\r\n${lines.join('')}Connection: close\r\n\r\n`);
  let answer = '';
  for await (const chunk of socket) answer += String(chunk);
  return answer;
}
