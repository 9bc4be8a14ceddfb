// Starts a test server on an ephemeral port of 127.0.0.1 (the only address tests use) and returns that port.
import type { Server } from 'node:net';

/** Listens on 127.0.0.1:0; `what` names the server in the error when no TCP port came back. */
export async function listenOnLoopback(server: Server, what: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${what}: no TCP address to listen on`);
  return address.port;
}
