// One RTMP publisher's TCP connection: handshake, commands (connect, createStream, publish), key check, admission, FLV media → a PublishedStream.
import type { Socket } from 'node:net';
import type { WireMessage } from '../../../shared/protocol/index.ts';
import type { PublishAuthorizer } from '../../access/index.ts';
import { PublishAuthError } from '../../access/index.ts';
import { log } from '../../log.ts';
import { IngestError } from '../errors.ts';
import type { Ingest } from '../ingest.ts';
import type { PublishEndReason } from '../published-stream.ts';
import { PushedStream } from '../pushed-stream.ts';
import { decodeAmf0, encodeAmf0, isAmf0Object, type Amf0Value } from './amf0.ts';
import {
  ChunkReader,
  COMMAND_CHUNK_STREAM,
  CONTROL_CHUNK_STREAM,
  MESSAGE_ACKNOWLEDGEMENT,
  MESSAGE_AUDIO,
  MESSAGE_COMMAND_AMF0,
  MESSAGE_DATA_AMF0,
  MESSAGE_SET_PEER_BANDWIDTH,
  MESSAGE_USER_CONTROL,
  MESSAGE_VIDEO,
  MESSAGE_WINDOW_ACK_SIZE,
  writeChunks,
  type RtmpMessage,
} from './chunk-stream.ts';
import { RtmpProtocolError } from './errors.ts';
import { FlvToWire } from './flv-to-wire.ts';
import { CLIENT_HELLO_BYTES, HANDSHAKE_PACKET_BYTES, serverHello } from './handshake.ts';
import { RTMP_CHUNK_LIMITS, RTMP_HANDSHAKE_TIMEOUT_MS, RTMP_MAX_COMMAND_BYTES, RTMP_WINDOW_ACK_BYTES } from './limits.ts';
import { parseApp, parsePublishName } from './stream-key.ts';

/** The application every publisher connects to: `rtmp://HOST:PORT/live`. */
export const RTMP_APP = 'live';
/** The message stream createStream hands out; one publish per connection. */
const PUBLISH_STREAM_ID = 1;
/** After a refusal is written, how long the publisher has to read it before the socket is destroyed, ms. */
const CLOSE_GRACE_MS = 1000;
const USER_CONTROL_STREAM_BEGIN = 0;

export interface RtmpConnectionDeps {
  ingest: Ingest;
  authorizer: PublishAuthorizer;
  idleTimeoutMs: number;
}

type Phase = 'hello' | 'ack' | 'chunks' | 'closed';

export class RtmpConnection {
  readonly clientAddress: string;
  #socket: Socket;
  #deps: RtmpConnectionDeps;
  #phase: Phase = 'hello';
  #hello: Uint8Array[] = [];
  #helloBytes = 0;
  #reader = new ChunkReader(RTMP_CHUNK_LIMITS);
  #flv = new FlvToWire();
  /** The publisher's acknowledgement window (its Window Acknowledgement Size) and the count last acknowledged. */
  #ackWindow = 0;
  #ackedBytes = 0;
  #publishing: 'no' | 'checking' | 'yes' = 'no';
  /** A key in the connect command's application (`live?key=KEY`); one in the publish name wins. */
  #appKey: string | undefined;
  #stream: PushedStream | undefined;
  #handshakeTimer: NodeJS.Timeout;
  #idleTimer: NodeJS.Timeout | undefined;
  #lastActivityMs = Date.now();
  #onClosed: () => void;

  constructor(socket: Socket, deps: RtmpConnectionDeps, onClosed: () => void) {
    this.#socket = socket;
    this.#deps = deps;
    this.#onClosed = onClosed;
    this.clientAddress = socket.remoteAddress ?? 'unknown';
    socket.setNoDelay(true);
    this.#handshakeTimer = setTimeout(() => this.#drop(new RtmpProtocolError('timeout', `no publish within ${RTMP_HANDSHAKE_TIMEOUT_MS} ms`)), RTMP_HANDSHAKE_TIMEOUT_MS);
    this.#handshakeTimer.unref();
    socket.on('data', (data: Buffer) => this.#onData(data));
    socket.on('error', (err) => this.#end('disconnected', `socket error: ${err.message}`));
    socket.on('close', () => this.#end('disconnected', 'the publisher closed the connection'));
  }

  /** Ends the connection (the server is closing). */
  close(): void {
    this.#end('server-closing', undefined);
  }

  #onData(data: Buffer): void {
    if (this.#phase === 'closed') return;
    this.#lastActivityMs = Date.now();
    if (this.#stream) this.#stream.stats.bytesReceived += data.byteLength;
    try {
      let bytes: Uint8Array = data;
      if (this.#phase === 'hello' || this.#phase === 'ack') bytes = this.#handshake(bytes);
      if (this.#phase === 'chunks' && bytes.byteLength > 0) {
        for (const message of this.#reader.push(bytes)) {
          if (this.#phase !== 'chunks') return;
          this.#onMessage(message);
        }
        this.#acknowledge();
      }
    } catch (err) {
      this.#drop(err);
    }
  }

  /** Takes the handshake's bytes; returns what follows them (the first chunks may come in the same read as C2). */
  #handshake(data: Uint8Array): Uint8Array {
    const need = this.#phase === 'hello' ? CLIENT_HELLO_BYTES : HANDSHAKE_PACKET_BYTES;
    const take = Math.min(need - this.#helloBytes, data.byteLength);
    this.#hello.push(data.subarray(0, take));
    this.#helloBytes += take;
    const rest = data.subarray(take);
    if (this.#helloBytes < need) return rest;
    const packet = Buffer.concat(this.#hello);
    this.#hello = [];
    this.#helloBytes = 0;
    if (this.#phase === 'hello') {
      this.#socket.write(serverHello(packet));
      this.#phase = 'ack';
      return this.#handshake(rest);
    }
    // C2 echoes S1; simple-handshake clients are not held to it, as other servers do not hold them.
    this.#phase = 'chunks';
    return rest;
  }

  #onMessage(message: RtmpMessage): void {
    switch (message.typeId) {
      case MESSAGE_COMMAND_AMF0:
        this.#onCommand(this.#amf(message));
        return;
      case MESSAGE_DATA_AMF0:
        this.#onData0(this.#amf(message));
        return;
      case MESSAGE_WINDOW_ACK_SIZE:
        if (message.payload.byteLength >= 4) this.#ackWindow = Buffer.from(message.payload).readUInt32BE(0);
        return;
      case MESSAGE_AUDIO:
      case MESSAGE_VIDEO:
        this.#onMedia(message);
        return;
      default:
        // Acknowledgements, user control (pings), bandwidth: nothing a publishing server needs to act on.
        return;
    }
  }

  #amf(message: RtmpMessage): Amf0Value[] {
    if (message.payload.byteLength > RTMP_MAX_COMMAND_BYTES) {
      throw new RtmpProtocolError('bad-command', `a command of ${message.payload.byteLength} bytes (limit ${RTMP_MAX_COMMAND_BYTES})`);
    }
    return decodeAmf0(message.payload);
  }

  #onCommand(values: Amf0Value[]): void {
    const [name, transaction] = values;
    if (typeof name !== 'string') throw new RtmpProtocolError('bad-command', 'a command without a name');
    const txn = typeof transaction === 'number' ? transaction : 0;
    switch (name) {
      case 'connect': {
        const command = values[2];
        const app = command !== undefined && isAmf0Object(command) ? command.app : undefined;
        const parsed = typeof app === 'string' ? parseApp(app) : undefined;
        if (parsed?.app !== RTMP_APP) {
          this.#send(COMMAND_CHUNK_STREAM, MESSAGE_COMMAND_AMF0, 0, encodeAmf0('_error', txn, null, status('error', 'NetConnection.Connect.Rejected', `publish to rtmp://HOST:PORT/${RTMP_APP}/NAME`)));
          this.#refuse('protocol-error', `connect to application ${JSON.stringify(app)} (only "${RTMP_APP}")`);
          return;
        }
        this.#appKey = parsed.key;
        this.#sendControl(MESSAGE_WINDOW_ACK_SIZE, u32(RTMP_WINDOW_ACK_BYTES));
        this.#sendControl(MESSAGE_SET_PEER_BANDWIDTH, Uint8Array.of(...u32(RTMP_WINDOW_ACK_BYTES), 2));
        this.#send(
          COMMAND_CHUNK_STREAM,
          MESSAGE_COMMAND_AMF0,
          0,
          encodeAmf0('_result', txn, { fmsVer: 'FMS/3,0,1,123', capabilities: 31 }, { ...status('status', 'NetConnection.Connect.Success', 'Connection succeeded.'), objectEncoding: 0 }),
        );
        return;
      }
      case 'createStream':
        this.#send(COMMAND_CHUNK_STREAM, MESSAGE_COMMAND_AMF0, 0, encodeAmf0('_result', txn, null, PUBLISH_STREAM_ID));
        return;
      case 'publish': {
        const publishName = values[3];
        if (typeof publishName !== 'string') throw new RtmpProtocolError('bad-command', 'publish without a stream name');
        if (this.#publishing !== 'no') throw new RtmpProtocolError('bad-command', 'a second publish on one connection');
        this.#publishing = 'checking';
        this.#publish(publishName).catch((err: unknown) => this.#drop(err));
        return;
      }
      case 'deleteStream':
      case 'closeStream':
      case 'FCUnpublish':
        if (this.#stream) this.#end('publisher-ended', undefined);
        return;
      default:
        // releaseStream, FCPublish, getStreamLength…: nothing to answer for a publisher.
        return;
    }
  }

  /** Checks the key (PublishAuthorizer) and admits the stream (Ingest); answers Publish.Start or a refusal. */
  async #publish(publishName: string): Promise<void> {
    const parsed = parsePublishName(publishName);
    const name = parsed.name;
    const key = parsed.key ?? this.#appKey;
    try {
      await this.#deps.authorizer.authorize(name, key, this.clientAddress);
    } catch (err) {
      if (!(err instanceof PublishAuthError)) throw err;
      log('info', 'publish.unauthorized', { stream: name, reason: err.reason, client: this.clientAddress, path: 'rtmp' });
      this.#publishStatus('error', 'NetStream.Publish.Unauthorized', `${err.message} (send the key as NAME?key=KEY)`);
      this.#refuse(undefined, undefined);
      return;
    }
    if (this.#phase === 'closed') return;
    const stream = new PushedStream('rtmp', name, (reason, detail) => this.#end(reason, detail), parsed.transcode);
    try {
      this.#deps.ingest.admit(stream, this.clientAddress, 'rtmp');
    } catch (err) {
      if (!(err instanceof IngestError)) throw err;
      log('info', 'publish.refused', { stream: name, reason: err.code, detail: err.message, client: this.clientAddress, path: 'rtmp' });
      const code = err.code === 'bad-name' || err.code === 'stream-busy' ? 'NetStream.Publish.BadName' : 'NetStream.Publish.Rejected';
      this.#publishStatus('error', code, err.message);
      this.#refuse(undefined, undefined);
      return;
    }
    this.#stream = stream;
    this.#publishing = 'yes';
    clearTimeout(this.#handshakeTimer);
    this.#armIdleTimer();
    this.#sendControl(MESSAGE_USER_CONTROL, Uint8Array.of(0, USER_CONTROL_STREAM_BEGIN, ...u32(PUBLISH_STREAM_ID)));
    this.#publishStatus('status', 'NetStream.Publish.Start', `${name} is now published.`);
  }

  #onData0(values: Amf0Value[]): void {
    // `@setDataFrame`, `onMetaData`, {…}: the encoder's description of its tracks.
    const metadata = values[0] === '@setDataFrame' ? values[2] : values[0] === 'onMetaData' ? values[1] : undefined;
    if (metadata !== undefined && isAmf0Object(metadata)) this.#flv.metadata(metadata);
  }

  #onMedia(message: RtmpMessage): void {
    const stream = this.#stream;
    if (!stream) {
      if (this.#publishing === 'checking') return; // Sent before the answer to publish: not yet anyone's media.
      throw new RtmpProtocolError('bad-media', 'media before publish');
    }
    const messages: WireMessage[] =
      message.typeId === MESSAGE_VIDEO ? this.#flv.video(message.timestamp, message.payload) : this.#flv.audio(message.timestamp, message.payload);
    for (const wire of messages) {
      if (stream.closed) return;
      if (wire.type !== 'end') stream.push(wire);
    }
  }

  #armIdleTimer(): void {
    this.#idleTimer = setInterval(() => {
      if (Date.now() - this.#lastActivityMs > this.#deps.idleTimeoutMs) this.#end('idle-timeout', `nothing received for ${this.#deps.idleTimeoutMs} ms`);
    }, 500);
    this.#idleTimer.unref();
  }

  #acknowledge(): void {
    if (this.#ackWindow <= 0 || this.#reader.bytesRead - this.#ackedBytes < this.#ackWindow) return;
    this.#ackedBytes = this.#reader.bytesRead;
    this.#sendControl(MESSAGE_ACKNOWLEDGEMENT, u32(this.#ackedBytes));
  }

  #publishStatus(level: 'status' | 'error', code: string, description: string): void {
    this.#send(COMMAND_CHUNK_STREAM, MESSAGE_COMMAND_AMF0, PUBLISH_STREAM_ID, encodeAmf0('onStatus', 0, null, status(level, code, description)));
  }

  #sendControl(typeId: number, payload: Uint8Array): void {
    this.#send(CONTROL_CHUNK_STREAM, typeId, 0, payload);
  }

  #send(csid: number, typeId: number, streamId: number, payload: Uint8Array): void {
    if (this.#phase === 'closed' || this.#socket.destroyed) return;
    this.#socket.write(writeChunks(csid, { typeId, streamId, payload }));
  }

  /** A refused publisher: what was written is flushed, then the socket closes (destroyed if the peer does not close). */
  #refuse(reason: PublishEndReason | undefined, detail: string | undefined): void {
    if (reason) log('warn', 'rtmp.refused', { client: this.clientAddress, reason, detail });
    this.#phase = 'closed';
    this.#stop();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CLOSE_GRACE_MS).unref();
    this.#onClosed();
  }

  /** Drops the connection for breaking the protocol or a limit: one log line, the socket destroyed. */
  #drop(err: unknown): void {
    const detail = err instanceof Error ? err.message : String(err);
    if (!(err instanceof RtmpProtocolError)) log('error', 'rtmp.error', { client: this.clientAddress, stream: this.#stream?.streamName, detail });
    if (this.#stream) {
      this.#end(err instanceof RtmpProtocolError && err.code === 'timeout' ? 'idle-timeout' : 'protocol-error', detail);
      return;
    }
    log('warn', 'rtmp.dropped', { client: this.clientAddress, code: err instanceof RtmpProtocolError ? err.code : 'internal', detail });
    this.#end('protocol-error', detail);
  }

  #end(reason: PublishEndReason, detail: string | undefined): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#stop();
    this.#socket.destroy();
    this.#stream?.close(reason, detail);
    this.#onClosed();
  }

  #stop(): void {
    clearTimeout(this.#handshakeTimer);
    clearInterval(this.#idleTimer);
  }
}

function status(level: 'status' | 'error', code: string, description: string): Record<string, Amf0Value> {
  return { level, code, description };
}

function u32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}
