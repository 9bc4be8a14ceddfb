// One WHIP publisher's WebRTC session (node-datachannel media tracks): the answer, RTP/RTCP in, receiver feedback and keyframe requests out, media → wire messages.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Audio, PeerConnection, Video, type Track } from 'node-datachannel';
import { TypedEmitter, type ErrorContext } from '../../../shared/events.ts';
import type { SegmentGrid } from '../../../shared/segment-grid.ts';
import { log } from '../../log.ts';
import type { IngestConfig } from '../config.ts';
import { IngestError } from '../errors.ts';
import type { IngestSession, PublishEndReason, PublishedStreamEvents } from '../published-stream.ts';
import { answerWhenGathered } from '../sdp-answer.ts';
import { RtpFormatError } from '../rtp/errors.ts';
import { H264_CLOCK_RATE, H264Depacketizer } from '../rtp/h264-depacketizer.ts';
import { OPUS_CLOCK_RATE } from '../rtp/opus.ts';
import { ReceptionStatistics } from '../rtp/reception-statistics.ts';
import { parseSenderReports, pictureLossIndication, receiverEstimatedMaxBitrate, receiverReport } from '../rtp/rtcp.ts';
import { ReorderBuffer, type Released } from '../rtp/reorder-buffer.ts';
import { isRtcp, parseRtpPacket } from '../rtp/rtp-packet.ts';
import { RtpToWire } from './rtp-to-wire.ts';
import type { WhipOffer } from './whip-offer.ts';

/**
 * The reorder buffer: a gap is waited for this long before its packets count as lost (no NACK is sent, so a lost
 * packet never comes; on loopback and LANs reordering settles within a few ms)...
 */
export const REORDER_MAX_WAIT_MS = 100;
/** ...and at most this many packets are held behind it (about 1.5 s of 2.5 Mbit/s video). */
export const REORDER_MAX_HELD_PACKETS = 512;
/** A decoder waiting for a keyframe after a loss asks again this often until one comes. */
export const KEYFRAME_RETRY_MS = 500;
/**
 * How often the receiver's feedback goes out: a receiver report per stream (the sender's loss-based congestion
 * control grows its rate on reports without loss, RFC 3550's RTCP interval is about this) with a REMB of the ceiling.
 */
export const RECEIVER_REPORT_INTERVAL_MS = 1000;
/** How often the reorder buffers are checked for gaps that waited long enough. */
const REORDER_FLUSH_INTERVAL_MS = 25;
const TIMER_INTERVAL_MS = 500;

type Kind = 'video' | 'audio';

interface MediaTrack {
  kind: Kind;
  track: Track;
  payloadType: number;
  reorder: ReorderBuffer;
  /** The sender's SSRC, from its first RTP packet. */
  ssrc: number | undefined;
  /** The stream's reception as its receiver reports tell the sender; from the first RTP packet. */
  statistics: ReceptionStatistics | undefined;
}

export interface WhipSessionOptions {
  config: IngestConfig;
  grid: SegmentGrid;
  /** `?transcode=` on the publish URL (PublishedStream.transcode). */
  transcode?: string | undefined;
}

type WhipSessionEvents = PublishedStreamEvents & {
  /** The peer connection is connected (ICE and DTLS done): the publisher can be admitted now. Emitted once. */
  connected: [];
  error: [Error];
};

export class WhipSession extends TypedEmitter<WhipSessionEvents> implements IngestSession {
  readonly id = randomBytes(8).toString('hex');
  readonly streamName: string;
  readonly transcode: string | undefined;
  readonly stats = { bytesReceived: 0, keyframeRequests: 0 };
  #config: IngestConfig;
  #pc: PeerConnection;
  /** Kept referenced: node-datachannel stops delivering to a track whose JS object is garbage-collected. */
  #tracks: MediaTrack[] = [];
  #depacketizer = new H264Depacketizer();
  #toWire: RtpToWire;
  /** Our SSRC as the sender of receiver reports and keyframe requests (RTCP needs one; we send no media). */
  #ssrc = randomBytes(4).readUInt32BE(0);
  #lastKeyframeRequestMs = Number.NEGATIVE_INFINITY;
  #admitted = false;
  /** This session's times are performance.now()'s, one monotonic clock (a wall-clock step must not fire a timeout). */
  #startedMs = performance.now();
  #lastPacketMs: number | undefined;
  /** Runs from creation until the peer connection is connected. */
  #connectTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #reportTimer: NodeJS.Timeout | undefined;
  #abortAnswer: ((err: Error) => void) | undefined;
  #closed = false;

  constructor(streamName: string, offer: WhipOffer, options: WhipSessionOptions) {
    super();
    this.streamName = streamName;
    this.transcode = options.transcode;
    this.#config = options.config;
    this.#toWire = new RtpToWire({
      grid: options.grid,
      withAudio: offer.audio !== undefined,
      onWarning: (event, detail) => log('warn', event, { stream: streamName, session: this.id, detail }),
    });
    const config = options.config;
    this.#pc = new PeerConnection(`whip-${streamName}-${this.id}`, {
      iceServers: [],
      bindAddress: config.iceBindAddress,
      ...(config.icePortRangeBegin > 0 && { portRangeBegin: config.icePortRangeBegin, portRangeEnd: config.icePortRangeEnd }),
    });
    const video = new Video(offer.video.mid, 'RecvOnly');
    video.addH264Codec(offer.video.payloadType, offer.video.fmtp);
    this.#addTrack('video', this.#pc.addTrack(video), offer.video.payloadType);
    if (offer.audio) {
      const audio = new Audio(offer.audio.mid, 'RecvOnly');
      audio.addOpusCodec(offer.audio.payloadType, offer.audio.fmtp);
      this.#addTrack('audio', this.#pc.addTrack(audio), offer.audio.payloadType);
    }
    this.#pc.onStateChange(this.#guard((state) => {
      if (state === 'connected' && this.#connectTimer) {
        clearTimeout(this.#connectTimer);
        this.#connectTimer = undefined;
        this.emit('connected');
      }
      if (state === 'failed' || state === 'disconnected' || state === 'closed') this.close('disconnected', `peer connection ${state}`);
    }));
    // Not admitted before it connects, so no one else would end a session whose publisher never does.
    this.#connectTimer = setTimeout(
      this.#guard(() => this.close('connect-timeout', `not connected within ${config.connectTimeoutMs} ms`)),
      config.connectTimeoutMs,
    );
    this.#connectTimer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Applies the offer and resolves with the complete answer, every candidate in it (WHIP without trickle). Rejects
   * with `bad-offer` when the engine refuses the offer, `negotiation-failed` when gathering times out or the session
   * closes first.
   */
  answer(offerSdp: string): Promise<string> {
    if (this.#closed) return Promise.reject(this.#closedDuringNegotiation('closed'));
    const guard = <A extends unknown[]>(callback: (...args: A) => void): ((...args: A) => void) => this.#guard(callback);
    const negotiation = answerWhenGathered(this.#pc, offerSdp, { streamName: this.streamName, timeoutMs: this.#config.gatheringTimeoutMs, guard });
    this.#abortAnswer = negotiation.abort;
    return negotiation.answer.finally(() => (this.#abortAnswer = undefined));
  }

  /** The Ingest admitted the session (connected): media now flows to its consumer, and the first-media and idle timeouts run. */
  start(): void {
    if (this.#closed || this.#admitted) return;
    this.#admitted = true;
    this.#startedMs = performance.now();
    this.#timer = setInterval(this.#guard(() => this.#checkTimeouts()), TIMER_INTERVAL_MS);
    this.#timer.unref();
    this.#flushTimer = setInterval(this.#guard(() => this.#flushReorderBuffers()), REORDER_FLUSH_INTERVAL_MS);
    this.#flushTimer.unref();
    this.#reportTimer = setInterval(this.#guard(() => this.#sendReceiverFeedback()), RECEIVER_REPORT_INTERVAL_MS);
    this.#reportTimer.unref();
  }

  fail(detail: string): void {
    this.close('protocol-error', detail);
  }

  close(reason: PublishEndReason, detail?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    clearInterval(this.#timer);
    clearInterval(this.#flushTimer);
    clearInterval(this.#reportTimer);
    this.#abortAnswer?.(this.#closedDuringNegotiation(reason));
    try {
      for (const { track } of this.#tracks) track.close();
      this.#pc.close();
    } catch {
      // The engine may already have torn the connection down; closing is best effort.
    }
    this.emit('end', reason, detail);
    this.removeAllListeners();
  }

  protected override errorContext(): ErrorContext {
    return { stream: this.streamName, session: this.id, path: 'whip' };
  }

  #addTrack(kind: Kind, track: Track, payloadType: number): void {
    const media: MediaTrack = { kind, track, payloadType, ssrc: undefined, statistics: undefined, reorder: new ReorderBuffer({ maxWaitMs: REORDER_MAX_WAIT_MS, maxHeldPackets: REORDER_MAX_HELD_PACKETS }) };
    this.#tracks.push(media);
    track.onMessage(this.#guard((message: Buffer) => this.#onMessage(media, message)));
    track.onError(this.#guard((err: string) => this.close('disconnected', `${kind} track error: ${err}`)));
  }

  /**
   * Wraps a callback node-datachannel calls: an exception escaping into the engine's callback ends the process, so
   * none does. A malformed packet ends the session as a protocol error; anything else is logged as a bug, and ends it too.
   */
  #guard<A extends unknown[]>(callback: (...args: A) => void): (...args: A) => void {
    return (...args: A) => {
      try {
        callback(...args);
      } catch (err) {
        const detail = err instanceof Error ? err.message : String(err);
        if (!(err instanceof RtpFormatError)) log('error', 'whip.error', { stream: this.streamName, session: this.id, detail });
        this.close('protocol-error', detail);
      }
    };
  }

  #onMessage(media: MediaTrack, message: Buffer): void {
    if (this.#closed || !this.#admitted) return;
    const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    this.stats.bytesReceived += bytes.byteLength;
    if (isRtcp(bytes)) {
      for (const report of parseSenderReports(bytes)) {
        if (report.ssrc !== media.ssrc) continue;
        media.statistics?.senderReport(report, performance.now());
        this.#toWire.senderReport(media.kind, report);
      }
      this.#requestKeyframes();
      return;
    }
    const packet = parseRtpPacket(bytes);
    // Formats not negotiated (none are: the answer has one per section) are not this track's media.
    if (packet.payloadType !== media.payloadType) return;
    media.ssrc ??= packet.ssrc;
    if (packet.ssrc !== media.ssrc) return;
    media.statistics ??= new ReceptionStatistics(packet.ssrc, media.kind === 'video' ? H264_CLOCK_RATE : OPUS_CLOCK_RATE);
    const now = performance.now();
    media.statistics.packet(packet.sequence, packet.timestamp, now);
    this.#lastPacketMs = now;
    this.#release(media, media.reorder.push(packet, now));
  }

  #flushReorderBuffers(): void {
    const now = performance.now();
    for (const media of this.#tracks) this.#release(media, media.reorder.flush(now));
  }

  #release(media: MediaTrack, released: Released[]): void {
    for (const item of released) {
      if (this.#closed) return;
      if (item.kind === 'loss') {
        if (media.kind === 'video') this.#depacketizer.lost();
        continue;
      }
      if (media.kind === 'video') {
        for (const unit of this.#depacketizer.push(item.packet)) this.#emitAll(this.#toWire.video(unit));
      } else this.#emitAll(this.#toWire.audio(item.packet));
    }
    this.#requestKeyframes();
  }

  #emitAll(messages: ReturnType<RtpToWire['video']>): void {
    for (const message of messages) {
      if (this.#closed) return;
      if (message.type !== 'end') this.emit('message', message);
    }
  }

  /** A PLI when a segment boundary is near or the stream can start, and (at most every KEYFRAME_RETRY_MS) after a loss. */
  #requestKeyframes(): void {
    const now = performance.now();
    const due = this.#toWire.takeKeyframeRequest();
    if (!due && !(this.#depacketizer.waitingForKeyframe && now - this.#lastKeyframeRequestMs >= KEYFRAME_RETRY_MS)) return;
    const video = this.#tracks[0]!;
    if (video.ssrc === undefined || !video.track.isOpen()) return;
    this.#lastKeyframeRequestMs = now;
    this.stats.keyframeRequests++;
    video.track.sendMessageBinary(Buffer.from(pictureLossIndication(this.#ssrc, video.ssrc)));
  }

  /**
   * One compound RTCP packet on the video track (both streams share the BUNDLE transport): a receiver report with a
   * block per stream, then a REMB of the configured ceiling. The answer negotiates goog-remb and not transport-cc, so
   * the sender's congestion control runs on these (loss-based, capped by the REMB) rather than waiting for
   * transport-wide feedback that never comes.
   */
  #sendReceiverFeedback(): void {
    const video = this.#tracks[0]!;
    if (!video.track.isOpen()) return;
    const now = performance.now();
    const received = this.#tracks.flatMap((media) => (media.statistics ? [media.statistics] : []));
    if (received.length === 0) return;
    const report = receiverReport(this.#ssrc, received.map((statistics) => statistics.reportBlock(now)));
    const remb = receiverEstimatedMaxBitrate(this.#ssrc, this.#config.whipMaxBitrate, received.map((statistics) => statistics.ssrc));
    video.track.sendMessageBinary(Buffer.concat([report, remb]));
  }

  #checkTimeouts(): void {
    const now = performance.now();
    if (this.#lastPacketMs === undefined) {
      if (now - this.#startedMs > this.#config.connectTimeoutMs) this.close('connect-timeout', `no media within ${this.#config.connectTimeoutMs} ms`);
    } else if (now - this.#lastPacketMs > this.#config.idleTimeoutMs) {
      this.close('idle-timeout', `no media for ${this.#config.idleTimeoutMs} ms`);
    }
  }

  #closedDuringNegotiation(reason: string): IngestError {
    return new IngestError('negotiation-failed', this.streamName, `the session closed during negotiation (${reason})`);
  }
}
