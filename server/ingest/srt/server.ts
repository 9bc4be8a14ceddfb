// The SRT listener (srt://HOST:SRT_PORT?streamid=publish:NAME): decides each caller (streamid, key, admission) and hands out accepted publishers' MPEG-TS.
import { lookup } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { TypedEmitter, type ErrorContext } from '../../../shared/events.ts';
import { PublishAuthError, type PublishAuthorizer } from '../../access/index.ts';
import { log } from '../../log.ts';
import { IngestError } from '../errors.ts';
import type { PublishEndReason } from '../published-stream.ts';
import { DEFAULT_SRT_CACHE_DIR, srtListenerBinary } from './binary.ts';
import { acceptCommand, closeCommand, hostOf, parseRequest, rejectCommand, type ListenerFrame } from './frames.ts';
import { ListenerProcess } from './listener-process.ts';
import { parseStreamId, SRT_REJECT, SrtStreamIdError } from './stream-id.ts';

export type SrtPublisherEvents = {
  /** A piece of the publisher's MPEG-TS (whole 188-byte packets, usually 7 of them), in the order sent. */
  data: [bytes: Uint8Array];
  /** Emitted once, last. */
  close: [reason: PublishEndReason, detail: string | undefined];
};

/** One accepted SRT publisher: its stream, key and address, its transport stream as `data`, then `close`. */
export class SrtPublisher extends TypedEmitter<SrtPublisherEvents> {
  readonly streamName: string;
  /** The key or token its streamid carried (already accepted by the PublishAuthorizer). */
  readonly key: string | undefined;
  /** The caller's IP address. */
  readonly remoteAddress: string;
  /** The transcoding choice its streamid carried (PublishedStream.transcode). */
  readonly transcode: string | undefined;
  bytesReceived = 0;
  readonly #id: number;
  readonly #onClose: (id: number) => void;
  #closed = false;

  constructor(id: number, streamName: string, key: string | undefined, remoteAddress: string, onClose: (id: number) => void, transcode?: string) {
    super();
    this.#id = id;
    this.streamName = streamName;
    this.key = key;
    this.remoteAddress = remoteAddress;
    this.transcode = transcode;
    this.#onClose = onClose;
  }

  /** Hands bytes the listener received to the consumer (the demuxer). */
  push(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.bytesReceived += bytes.byteLength;
    this.emit('data', bytes);
  }

  /** Ends the publisher (its SRT connection is closed); emits `close` once. Idempotent. */
  close(reason: PublishEndReason = 'stopped', detail?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this.#id);
    this.emit('close', reason, detail);
    this.removeAllListeners();
  }

  protected override errorContext(): ErrorContext {
    return { stream: this.streamName, path: 'srt' };
  }
}

export interface SrtServerOptions {
  authorizer: PublishAuthorizer;
  /**
   * Checks an authorized caller before the SRT handshake is answered (wire it to Ingest.vet): throwing an IngestError
   * refuses it with the matching SRT rejection code (e.g. 1409 for a live name). Must end and count nothing.
   */
  vet: (publisher: SrtPublisher) => void;
  /**
   * Admits the publisher into the ingest once its connection is open (wire it to Ingest.admit), which is when libsrt
   * has checked the passphrase: a caller that fails it never takes a live stream over. Throwing closes the connection.
   */
  admit: (publisher: SrtPublisher) => void;
  /** Set: every caller must encrypt with it (SRT_PASSPHRASE, 10 to 79 characters); unset: callers must not encrypt. */
  passphrase?: string | undefined;
  /** Where the listener binary is built and cached (default ~/.cache/swarmcast). */
  cacheDir?: string;
}

/** One UDP port for every SRT publisher; a child process (srt-listener.c on libsrt) speaks SRT, this routes and decides. */
export class SrtServer {
  readonly #options: SrtServerOptions;
  #listener: ListenerProcess | undefined;
  #port: number | undefined;
  /** Accepted publishers by SRT socket id, from the accept decision until they close. */
  #publishers = new Map<number, SrtPublisher>();
  /** Accepted publishers whose connection has not opened yet (not admitted into the ingest). */
  #opening = new Set<number>();
  /** Callers being decided; one the listener gave up on (no answer in time) is dropped from it. */
  #deciding = new Set<number>();
  /** Counts listener (re)starts, so a decision that outlived its listener is not applied to the next one. */
  #generation = 0;
  #closed = false;

  constructor(options: SrtServerOptions) {
    this.#options = options;
  }

  /** The UDP port it listens on; undefined before `listen` resolves and after `close`. */
  get port(): number | undefined {
    return this.#port;
  }

  /** The listener child's process id (tests kill it to check the restart). */
  get listenerPid(): number | undefined {
    return this.#listener?.pid;
  }

  /**
   * Builds the listener if needed and starts it; resolves with the UDP port (a free one for port 0). Rejects with
   * SrtUnavailableError when libsrt or gcc is missing, or an Error when the port cannot be bound.
   */
  async listen(port: number, host: string): Promise<number> {
    const binary = await srtListenerBinary(this.#options.cacheDir ?? DEFAULT_SRT_CACHE_DIR);
    const { address } = await lookup(host);
    const listener = new ListenerProcess(binary, address);
    listener.on('frame', (frame) => this.#onFrame(frame));
    listener.on('down', (detail) => {
      this.#generation++;
      this.#deciding.clear();
      for (const publisher of [...this.#publishers.values()]) publisher.close('disconnected', `the SRT listener ${detail}`);
    });
    this.#listener = listener;
    this.#port = await listener.start(port);
    log('info', 'srt.listening', { host: address, port: this.#port, pid: listener.pid });
    return this.#port;
  }

  /** Ends every publisher (`server-closing`) and stops the listener. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const publisher of [...this.#publishers.values()]) publisher.close('server-closing');
    this.#port = undefined;
    await this.#listener?.close();
  }

  #onFrame(frame: ListenerFrame): void {
    switch (frame.type) {
      case 'data':
        this.#publishers.get(frame.id)?.push(frame.payload);
        return;
      case 'request':
        this.#deciding.add(frame.id);
        void this.#decide(frame.id, frame.payload, this.#generation).finally(() => this.#deciding.delete(frame.id));
        return;
      case 'open':
        this.#open(frame.id);
        return;
      case 'failed':
        this.#deciding.delete(frame.id);
        this.#opening.delete(frame.id);
        this.#publishers.get(frame.id)?.close('protocol-error', new TextDecoder().decode(frame.payload));
        return;
      case 'closed':
        this.#publishers.get(frame.id)?.close('disconnected', new TextDecoder().decode(frame.payload));
        return;
      case 'log':
        log('warn', 'srt.listener', { message: new TextDecoder().decode(frame.payload) });
        return;
      case 'ready':
        return;
    }
  }

  /** Answers one caller: accept (with the passphrase) or reject with an SRT rejection code. Never throws. */
  async #decide(id: number, payload: Uint8Array, generation: number): Promise<void> {
    const startedMs = performance.now();
    let client = 'unknown';
    let streamName: string | undefined;
    try {
      const { address, streamId } = parseRequest(payload);
      client = address;
      const request = parseStreamId(streamId);
      streamName = request.streamName;
      await this.#options.authorizer.authorize(request.streamName, request.key, hostOf(address));
      if (this.#closed || generation !== this.#generation || !this.#deciding.has(id)) {
        this.#listener?.send(rejectCommand(id, SRT_REJECT.unavailable));
        return;
      }
      const publisher = new SrtPublisher(id, request.streamName, request.key, hostOf(address), (closedId) => this.#forget(closedId), request.transcode);
      this.#options.vet(publisher);
      this.#publishers.set(id, publisher);
      this.#opening.add(id);
      this.#listener?.send(acceptCommand(id, this.#options.passphrase));
      log('info', 'srt.accepted', { stream: request.streamName, client, decisionMs: (performance.now() - startedMs).toFixed(2) });
    } catch (err) {
      const code = rejectionCode(err);
      if (generation === this.#generation) this.#listener?.send(rejectCommand(id, code));
      const level = code === SRT_REJECT.internalError ? 'error' : 'info';
      log(level, 'srt.refused', { stream: streamName, client, code, reason: (err as Error).message });
    }
  }

  /** The caller's handshake completed (passphrase included): admitted now; refused (connection closed) if it no longer may. */
  #open(id: number): void {
    const publisher = this.#publishers.get(id);
    if (!publisher || !this.#opening.delete(id)) return;
    try {
      this.#options.admit(publisher);
      log('debug', 'srt.connected', { stream: publisher.streamName, id });
    } catch (err) {
      log('info', 'srt.refused', { stream: publisher.streamName, client: publisher.remoteAddress, reason: (err as Error).message });
      publisher.close('protocol-error', (err as Error).message);
    }
  }

  #forget(id: number): void {
    this.#opening.delete(id);
    if (!this.#publishers.delete(id)) return;
    this.#listener?.send(closeCommand(id));
  }
}

/** The SRT rejection code (libsrt's SRT_REJX_*) for why a caller was refused. */
function rejectionCode(err: unknown): number {
  if (err instanceof SrtStreamIdError) return err.code;
  if (err instanceof PublishAuthError) {
    if (err.reason === 'other-stream') return SRT_REJECT.forbidden;
    if (err.reason === 'too-many-failures') return SRT_REJECT.overload;
    return SRT_REJECT.unauthorized;
  }
  if (err instanceof IngestError) {
    if (err.code === 'stream-busy') return SRT_REJECT.conflict;
    if (err.code === 'bad-name') return SRT_REJECT.badRequest;
    if (err.code === 'rate-limited' || err.code === 'too-many-streams') return SRT_REJECT.overload;
  }
  return SRT_REJECT.internalError;
}
