import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MountedAdapter } from './types.js';

/**
 * Starts a Node server on a free port of 127.0.0.1 for the suite: its base URL, and a `close` that also ends
 * the connections still open (a keep-alive client would otherwise hold `close` up).
 */
export async function listenOnLoopback(server: Server): Promise<MountedAdapter> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
