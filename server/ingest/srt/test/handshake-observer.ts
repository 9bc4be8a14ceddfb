// Test support: a UDP relay between an SRT caller and the listener that reads the listener's handshake answers: rejection codes, and how long each conclusion took.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

/** SRT control packets of type 0 are handshakes; a rejecting one carries 1000 + the reason in its handshake type. */
const HANDSHAKE_TYPE_OFFSET = 16 + 20;
const URQ_FAILURE_BASE = 1000;
/** The handshake type of a caller's conclusion request and of the listener's accepting answer. */
const URQ_CONCLUSION = -1;

function handshakeType(packet: Buffer): number | undefined {
  const control = packet.byteLength >= HANDSHAKE_TYPE_OFFSET + 4 && (packet[0]! & 0x80) !== 0;
  return control && (packet.readUInt16BE(0) & 0x7fff) === 0 ? packet.readInt32BE(HANDSHAKE_TYPE_OFFSET) : undefined;
}

export class HandshakeObserver {
  /** Rejection codes the listener answered with, in order. */
  readonly rejections: number[] = [];
  /** For each accepted caller: ms from its first conclusion request to the listener's accepting answer (the listen callback's round trip to Node included). */
  readonly acceptMs: number[] = [];
  #conclusionSentMs = new Map<string, number>();
  #front: Socket = createSocket('udp4');
  #upstreams = new Map<string, Socket>();
  #target: number;

  constructor(targetPort: number) {
    this.#target = targetPort;
    this.#front.on('message', (message, from) => this.#forward(message, from));
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.#front.bind(0, '127.0.0.1', () => resolve(this.#front.address().port)));
  }

  #forward(message: Buffer, from: RemoteInfo): void {
    const key = `${from.address}:${from.port}`;
    if (handshakeType(message) === URQ_CONCLUSION && !this.#conclusionSentMs.has(key)) this.#conclusionSentMs.set(key, performance.now());
    let upstream = this.#upstreams.get(key);
    if (!upstream) {
      const socket = createSocket('udp4');
      socket.on('message', (reply) => {
        const type = handshakeType(reply);
        if (type !== undefined && type >= URQ_FAILURE_BASE) this.rejections.push(type - URQ_FAILURE_BASE);
        const sentMs = this.#conclusionSentMs.get(key);
        if (type === URQ_CONCLUSION && sentMs !== undefined) {
          this.acceptMs.push(performance.now() - sentMs);
          this.#conclusionSentMs.set(key, Infinity);
        }
        this.#front.send(reply, from.port, from.address);
      });
      socket.bind(0, '127.0.0.1');
      this.#upstreams.set(key, socket);
      upstream = socket;
    }
    upstream.send(message, this.#target, '127.0.0.1');
  }

  close(): void {
    for (const socket of this.#upstreams.values()) socket.close();
    this.#front.close();
  }
}
