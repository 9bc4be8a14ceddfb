// The RTMP listener (rtmp://HOST:RTMP_PORT/live/NAME): one RtmpConnection per TCP connection, all closed with it.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { log } from '../../log.ts';
import { RtmpConnection, type RtmpConnectionDeps } from './connection.ts';

export class RtmpServer {
  #server: Server;
  #connections = new Set<RtmpConnection>();
  #closed = false;

  constructor(deps: RtmpConnectionDeps) {
    this.#server = createServer((socket) => {
      if (this.#closed) {
        socket.destroy();
        return;
      }
      const connection = new RtmpConnection(socket, deps, () => this.#connections.delete(connection));
      this.#connections.add(connection);
    });
  }

  /** The port it listens on; undefined before `listen` resolves and after `close`. */
  get port(): number | undefined {
    const address = this.#server.address();
    return address && typeof address === 'object' ? address.port : undefined;
  }

  /** Listens; resolves with the port (a free one for port 0). */
  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        this.#server.on('error', (err) => log('error', 'rtmp.listener-error', { reason: err.message }));
        resolve((this.#server.address() as AddressInfo).port);
      });
    });
  }

  /** Ends every connection (their streams end as `server-closing`) and stops listening. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    for (const connection of [...this.#connections]) connection.close();
    return new Promise((resolve) => {
      if (!this.#server.listening) return resolve();
      this.#server.close(() => resolve());
    });
  }
}
