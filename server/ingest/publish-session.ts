// One publisher's WebRTC session (node-datachannel): SDP answer, its data channels, frames → wire messages.
import { PeerConnection, type DataChannel } from 'node-datachannel';
import { CONTROL_CHANNEL_LABEL, ProtocolError, channelRole, encodeServerMessage } from '../../shared/protocol/index.ts';
import { TypedEmitter, type ErrorContext } from '../../shared/events.ts';
import { ChannelDemux } from './channel-demux.ts';
import type { IngestConfig } from './config.ts';
import { IngestError } from './errors.ts';
import type { PublishEndReason, PublishedStream, PublishedStreamEvents } from './published-stream.ts';
import { answerWhenGathered } from './sdp-answer.ts';

export type PublishSessionEvents = PublishedStreamEvents & { error: [Error] };

export interface SessionStats {
  bytesReceived: number;
  framesReceived: number;
  messagesReceived: number;
}

/**
 * After `end` on the control channel, how long the track channels have to deliver what they still carry (each ends
 * with its own `end`); the stream then ends without them.
 */
const END_GRACE_MS = 2000;
/**
 * Receipts (what arrived per track channel, shared/protocol/messages.ts) go back on the control channel at most this
 * long after bytes arrived; the publisher paces its sending on them.
 */
const RECEIPT_INTERVAL_MS = 100;
/** Sooner, once this much arrived since the last receipt, so a fast link's pacing is not held by the interval... */
const RECEIPT_EARLY_BYTES = 32 * 1024;
/** ...but never more often than this: at most 40 receipts of at most 147 bytes a second. */
const RECEIPT_MIN_INTERVAL_MS = 25;

export class PublishSession extends TypedEmitter<PublishSessionEvents> implements PublishedStream {
  readonly id: string;
  readonly streamName: string;
  readonly stats: SessionStats = { bytesReceived: 0, framesReceived: 0, messagesReceived: 0 };
  #config: IngestConfig;
  #pc: PeerConnection;
  /** Kept referenced: node-datachannel closes a channel whose JS object is garbage-collected. */
  #channels: DataChannel[] = [];
  #demux = new ChannelDemux();
  #control: DataChannel | undefined;
  /** Bytes received on each track's channel, by track id; by label, which track a channel carries. */
  #received = new Map<number, number>();
  #trackOfLabel = new Map<string, number>();
  #unreportedBytes = 0;
  #lastReceiptMs = Number.NEGATIVE_INFINITY;
  #receiptTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #endGrace: NodeJS.Timeout | undefined;
  #lastActivityMs = Date.now();
  /** Rejects the pending answer() when the session closes before negotiation is done. */
  #abortAnswer: ((err: Error) => void) | undefined;
  #closed = false;

  constructor(streamName: string, id: string, config: IngestConfig) {
    super();
    this.streamName = streamName;
    this.id = id;
    this.#config = config;
    this.#pc = new PeerConnection(`publish-${streamName}-${id}`, {
      iceServers: [],
      bindAddress: config.iceBindAddress,
      ...(config.icePortRangeBegin > 0 && {
        portRangeBegin: config.icePortRangeBegin,
        portRangeEnd: config.icePortRangeEnd,
      }),
      maxMessageSize: config.sctpMaxMessageBytes,
    });
    this.#pc.onDataChannel((channel) => this.#attachChannel(channel));
    this.#pc.onStateChange((state) => {
      if (state === 'failed' || state === 'disconnected' || state === 'closed') {
        this.close('disconnected', `peer connection ${state}`);
      }
    });
  }

  get isOpen(): boolean {
    return this.#channels.length > 0 && !this.#closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Applies the offer and resolves with the complete answer (all candidates gathered: no trickle). Rejects with
   * `bad-offer` when the engine refuses the offer, `negotiation-failed` when gathering times out or the session
   * closes first.
   */
  answer(offerSdp: string): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closedDuringNegotiation('closed'));
    const negotiation = answerWhenGathered(this.#pc, offerSdp, { streamName: this.streamName, timeoutMs: this.#config.gatheringTimeoutMs });
    this.#abortAnswer = negotiation.abort;
    return negotiation.answer.then(
      (sdp) => {
        this.#abortAnswer = undefined;
        this.#armTimer();
        return sdp;
      },
      (err: unknown) => {
        this.#abortAnswer = undefined;
        throw err;
      },
    );
  }

  /** Ends the session as a protocol error: its consumer cannot use what the publisher sends. */
  fail(detail: string): void {
    this.close('protocol-error', detail);
  }

  /**
   * Ends the session, once; later calls do nothing. After the publisher's `end` on the control channel, its channels
   * closing (whichever goes first) is the stop it announced, not a lost connection.
   */
  close(reason: PublishEndReason, detail?: string): void {
    if (this.#closed) return;
    if (reason === 'disconnected' && this.#demux.controlEnded) return this.close('publisher-ended', detail);
    this.#closed = true;
    clearInterval(this.#timer);
    clearTimeout(this.#endGrace);
    clearTimeout(this.#receiptTimer);
    this.#abortAnswer?.(this.#closedDuringNegotiation(reason));
    try {
      for (const channel of this.#channels) channel.close();
      this.#pc.close();
    } catch {
      // The engine may already have torn the connection down; closing is best effort.
    }
    this.emit('end', reason, detail);
    this.removeAllListeners();
  }

  protected override errorContext(): ErrorContext {
    return { stream: this.streamName, session: this.id };
  }

  #closedDuringNegotiation(reason: string): IngestError {
    return new IngestError('negotiation-failed', this.streamName, `the session closed during negotiation (${reason})`);
  }

  #attachChannel(channel: DataChannel): void {
    if (this.#closed) {
      channel.close();
      return;
    }
    const label = channel.getLabel();
    try {
      this.#demux.attach(label);
    } catch (err) {
      channel.close();
      this.close('protocol-error', (err as Error).message);
      return;
    }
    this.#channels.push(channel);
    if (label === CONTROL_CHANNEL_LABEL) this.#control = channel;
    else {
      const role = channelRole(label);
      if (role.kind === 'track') this.#trackOfLabel.set(label, role.trackId);
    }
    this.#lastActivityMs = Date.now();
    channel.onMessage((msg) => this.#onFrame(label, msg));
    channel.onClosed(() => this.close('disconnected', `data channel ${label} closed`));
    channel.onError((err) => this.close('disconnected', `data channel ${label} error: ${err}`));
  }

  #onFrame(label: string, msg: string | Buffer | ArrayBuffer): void {
    if (this.#closed) return;
    this.#lastActivityMs = Date.now();
    if (typeof msg === 'string') {
      this.close('protocol-error', `text message on data channel ${label}`);
      return;
    }
    const frame = msg instanceof ArrayBuffer ? new Uint8Array(msg) : new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    this.stats.framesReceived++;
    this.stats.bytesReceived += frame.byteLength;
    this.#noteReceived(label, frame.byteLength);
    let messages;
    try {
      messages = this.#demux.push(label, frame);
      this.stats.messagesReceived = this.#demux.messagesReceived;
    } catch (err) {
      this.close('protocol-error', err instanceof ProtocolError ? `${err.message} (data channel ${label})` : String(err));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      this.emit('message', message);
    }
    if (this.#demux.finished) this.close('publisher-ended');
    else if (this.#demux.controlEnded && !this.#endGrace) {
      this.#endGrace = setTimeout(() => this.close('publisher-ended', 'track channels did not end in time'), END_GRACE_MS);
      this.#endGrace.unref();
    }
  }

  /** Counts a track channel's bytes and sends a receipt when one is due (see RECEIPT_INTERVAL_MS). */
  #noteReceived(label: string, bytes: number): void {
    const trackId = this.#trackOfLabel.get(label);
    if (trackId === undefined) return;
    this.#received.set(trackId, (this.#received.get(trackId) ?? 0) + bytes);
    this.#unreportedBytes += bytes;
    const sinceMs = Date.now() - this.#lastReceiptMs;
    if (this.#unreportedBytes >= RECEIPT_EARLY_BYTES && sinceMs >= RECEIPT_MIN_INTERVAL_MS) this.#sendReceipt();
    else if (!this.#receiptTimer) {
      this.#receiptTimer = setTimeout(() => this.#sendReceipt(), Math.max(RECEIPT_MIN_INTERVAL_MS, RECEIPT_INTERVAL_MS - sinceMs));
      this.#receiptTimer.unref();
    }
  }

  #sendReceipt(): void {
    clearTimeout(this.#receiptTimer);
    this.#receiptTimer = undefined;
    if (this.#closed || !this.#control || this.#unreportedBytes === 0) return;
    this.#unreportedBytes = 0;
    this.#lastReceiptMs = Date.now();
    const channels = [...this.#received].map(([trackId, bytes]) => ({ trackId, bytes }));
    try {
      this.#control.sendMessageBinary(encodeServerMessage({ type: 'receipt', channels }));
    } catch {
      // The channel is closing; its own close ends the session.
    }
  }

  #armTimer(): void {
    const startedMs = Date.now();
    this.#timer = setInterval(() => {
      const now = Date.now();
      if (this.#channels.length === 0) {
        if (now - startedMs > this.#config.connectTimeoutMs) {
          this.close('connect-timeout', `no data channel within ${this.#config.connectTimeoutMs} ms`);
        }
      } else if (now - this.#lastActivityMs > this.#config.idleTimeoutMs) {
        this.close('idle-timeout', `nothing received for ${this.#config.idleTimeoutMs} ms`);
      }
    }, 500);
    this.#timer.unref();
  }
}
