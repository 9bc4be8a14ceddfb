// A hand-driven HTTP/2 client over TLS that writes its own frames, to play clients Node's http2 client cannot be made to
// be: one that never sends a request, or trickles a header block one CONTINUATION frame at a time.
import tls from 'node:tls';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const FRAME = { headers: 1, settings: 4, ping: 6, goaway: 7, continuation: 9 } as const;
const FLAG = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 } as const;

export interface RawHttp2Connection {
  /** performance.now() when the connection opened, and when it closed (undefined while open). */
  readonly openedAtMs: number;
  readonly closedAtMs: number | undefined;
  /** The error code of the first GOAWAY the server sent, or undefined. */
  readonly goawayCode: number | undefined;
  /** Streams the server has answered with HEADERS. */
  readonly answeredStreams: ReadonlySet<number>;
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  ping(): void;
  /** A complete GET request on `streamId` (odd, rising). */
  get(streamId: number, path: string): void;
  /** A HEADERS frame on `streamId` without END_HEADERS: the header block stays open until a CONTINUATION ends it. */
  beginHeaders(streamId: number): void;
  /** One CONTINUATION frame carrying one more header field, not ending the block. */
  continueHeaders(streamId: number): void;
  destroy(): void;
}

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK literal header field without indexing, the name given by its static-table index (strings under 127 bytes). */
function literal(nameIndex: number, value: string): Buffer {
  return Buffer.concat([Buffer.from([nameIndex, value.length]), Buffer.from(value, 'latin1')]);
}

/** `:method GET` and `:scheme https` (static table 2 and 7), then `:authority` and `:path`. */
function requestBlock(authority: string, path: string): Buffer {
  return Buffer.concat([Buffer.from([0x82, 0x87]), literal(1, authority), literal(4, path)]);
}

/** Opens TLS with ALPN h2 to 127.0.0.1:`port`, sends the preface and empty SETTINGS, and acknowledges the server's SETTINGS and PINGs. */
export function openRawHttp2(port: number, ca: Buffer): Promise<RawHttp2Connection> {
  const authority = `127.0.0.1:${port}`;
  const answered = new Set<number>();
  let closedAtMs: number | undefined;
  let goawayCode: number | undefined;
  let pending = Buffer.alloc(0);
  const socket = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['h2'] });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((done) =>
    socket.once('close', () => {
      closedAtMs = performance.now();
      done();
    }),
  );
  const write = (bytes: Buffer): void => {
    if (!socket.destroyed) socket.write(bytes);
  };
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const [type, flags] = [pending[3]!, pending[4]!];
      const streamId = pending.readUInt32BE(5) & 0x7fffffff;
      const payload = pending.subarray(9, 9 + length);
      pending = pending.subarray(9 + length);
      if (type === FRAME.settings && !(flags & FLAG.ack)) write(frame(FRAME.settings, FLAG.ack, 0));
      if (type === FRAME.ping && !(flags & FLAG.ack)) write(frame(FRAME.ping, FLAG.ack, 0, Buffer.from(payload)));
      if (type === FRAME.goaway) goawayCode ??= payload.readUInt32BE(4);
      if (type === FRAME.headers) answered.add(streamId);
    }
  });
  const openedAtMs = performance.now();
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN chose ${socket.alpnProtocol}, not h2`));
      write(Buffer.concat([Buffer.from(PREFACE, 'latin1'), frame(FRAME.settings, 0, 0)]));
      resolve({
        openedAtMs,
        get closedAtMs() {
          return closedAtMs;
        },
        get goawayCode() {
          return goawayCode;
        },
        answeredStreams: answered,
        closed,
        ping: () => write(frame(FRAME.ping, 0, 0, Buffer.alloc(8))),
        get: (streamId, path) => write(frame(FRAME.headers, FLAG.endHeaders | FLAG.endStream, streamId, requestBlock(authority, path))),
        beginHeaders: (streamId) => write(frame(FRAME.headers, FLAG.endStream, streamId, Buffer.from([0x82, 0x87]))),
        continueHeaders: (streamId) => write(frame(FRAME.continuation, 0, streamId, literal(1, authority))),
        destroy: () => socket.destroy(),
      });
    });
    socket.once('error', reject);
  });
}
