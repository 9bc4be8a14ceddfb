// Turns one WHIP publisher's depacketized media into the wire messages every ingest path hands the packager: tracks, the clock, chunks.
import { sameBytes } from '../../../shared/bytes.ts';
import { gridSegmentIndex, type SegmentGrid } from '../../../shared/segment-grid.ts';
import type { AudioTrackConfig, VideoTrackConfig, WireMessage } from '../../../shared/protocol/index.ts';
import { CodecConfigError } from '../../../shared/codecs/errors.ts';
import { AVC_NAL_PPS, AVC_NAL_SPS, avcCFromParameterSets, avcCodecString, avcNalType, avcPictureSize } from '../../../shared/codecs/h264.ts';
import { RtpFormatError } from '../rtp/errors.ts';
import { avcSample, H264_CLOCK_RATE, type AccessUnit } from '../rtp/h264-depacketizer.ts';
import { OPUS_CLOCK_RATE, opusPacketDurationUs } from '../rtp/opus.ts';
import type { SenderReport } from '../rtp/rtcp.ts';
import type { RtpPacket } from '../rtp/rtp-packet.ts';

export const WHIP_VIDEO_TRACK_ID = 0;
export const WHIP_AUDIO_TRACK_ID = 1;
/** Opus in WebRTC is always negotiated as two channels (RFC 7587 §7); mono senders still decode into them. */
const OPUS_CHANNELS = 2;
/**
 * A keyframe is asked for when the newest frame is this close to the next segment boundary: the frame the sender
 * encodes on the request is captured after it, so it lands on the boundary or just after (the packager takes a
 * keyframe up to half a frame early as the boundary's).
 */
export const KEYFRAME_REQUEST_LEAD_US = 20_000;
/**
 * The stream starts once both tracks' sender reports tie them to the wall clock. Chromium sends the audio's first
 * report a few seconds after the video's; after this long without one the stream starts without audio.
 */
export const AUDIO_REPORT_WAIT_MS = 6_000;

export interface RtpToWireOptions {
  grid: SegmentGrid;
  /** The offer has an Opus section. */
  withAudio: boolean;
  now?: () => number;
  /** A condition worth one log line (the picture size changed). */
  onWarning?: (event: string, detail: string) => void;
}

/** What a sender report says about the sender's clock. */
type ClockReport = Pick<SenderReport, 'ssrc' | 'wallClockMs' | 'rtpTimestamp'>;

/** RTP time of one track → the sender's wall clock, from its latest RTCP sender report. */
class SenderClock {
  #report: ClockReport | undefined;
  constructor(readonly clockRate: number) {}
  get known(): boolean {
    return this.#report !== undefined;
  }
  report(report: ClockReport): void {
    this.#report = report;
  }
  /** µs since the Unix epoch on the sender's clock; the RTP difference is read as signed 32-bit (wrap-around). */
  wallUs(rtpTimestamp: number): number {
    const report = this.#report!;
    const ticks = (rtpTimestamp - report.rtpTimestamp) | 0;
    return report.wallClockMs * 1000 + (ticks * 1_000_000) / this.clockRate;
  }
}

/**
 * Media time: both tracks are placed on the sender's wall clock through its sender reports (RFC 3550 §6.4.1), so audio
 * and video are in sync and the clock message carries the capture time of the first keyframe (PROGRAM-DATE-TIME).
 * Timestamps count µs from that keyframe. The stream starts on the first keyframe with its SPS and PPS once the
 * clocks are known; the segment grid starts there too, and `takeKeyframeRequest` says when to ask the sender for the
 * keyframe of the next boundary (the sender owns its GOP).
 */
export class RtpToWire {
  #options: RtpToWireOptions;
  #now: () => number;
  #video = new SenderClock(H264_CLOCK_RATE);
  #audio = new SenderClock(OPUS_CLOCK_RATE);
  #videoReportAtMs: number | undefined;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  #size: { width: number; height: number } | undefined;
  #originWallUs: number | undefined;
  #withAudio = false;
  #lastUs = new Map<number, number>();
  /** The grid boundary whose keyframe was asked for last, and whether a request is due. */
  #requestedBoundary = 0;
  #keyframeDue = false;
  #startRequested = false;

  constructor(options: RtpToWireOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get started(): boolean {
    return this.#originWallUs !== undefined;
  }

  senderReport(kind: 'video' | 'audio', report: ClockReport): void {
    if (kind === 'video') {
      this.#video.report(report);
      this.#videoReportAtMs ??= this.#now();
    } else this.#audio.report(report);
    this.#requestStart();
  }

  /** Whether a keyframe should be asked for now (once per boundary, and once when the stream can start). */
  takeKeyframeRequest(): boolean {
    const due = this.#keyframeDue;
    this.#keyframeDue = false;
    return due;
  }

  video(unit: AccessUnit): WireMessage[] {
    if (unit.keyframe) this.#parameterSets(unit);
    const messages: WireMessage[] = [];
    if (!this.started) {
      if (!unit.keyframe || !this.#sps || !this.#pps || !this.#clocksReady()) {
        this.#requestStart();
        return [];
      }
      messages.push(...this.#start(unit));
    }
    const timestampUs = this.#timestampUs(WHIP_VIDEO_TRACK_ID, this.#video.wallUs(unit.timestamp));
    if (timestampUs === undefined) return messages;
    this.#scheduleKeyframe(timestampUs);
    messages.push({ type: 'chunk', trackId: WHIP_VIDEO_TRACK_ID, keyframe: unit.keyframe, timestampUs, durationUs: 0, data: avcSample(unit) });
    return messages;
  }

  audio(packet: RtpPacket): WireMessage[] {
    if (!this.started || !this.#withAudio) return [];
    const durationUs = opusPacketDurationUs(packet.payload);
    const timestampUs = this.#timestampUs(WHIP_AUDIO_TRACK_ID, this.#audio.wallUs(packet.timestamp));
    if (timestampUs === undefined) return [];
    return [{ type: 'chunk', trackId: WHIP_AUDIO_TRACK_ID, keyframe: true, timestampUs, durationUs, data: packet.payload }];
  }

  /** Once the clocks are known, the keyframe the stream starts on is asked for rather than waited for. */
  #requestStart(): void {
    if (this.started || this.#startRequested || !this.#clocksReady()) return;
    this.#startRequested = true;
    this.#keyframeDue = true;
  }

  #clocksReady(): boolean {
    if (!this.#video.known) return false;
    if (!this.#options.withAudio || this.#audio.known) return true;
    return this.#now() - this.#videoReportAtMs! >= AUDIO_REPORT_WAIT_MS;
  }

  /** µs since the first keyframe; undefined for media before it; never before the track's previous timestamp. */
  #timestampUs(trackId: number, wallUs: number): number | undefined {
    const sinceUs = Math.round(wallUs - this.#originWallUs!);
    if (sinceUs < 0) return undefined;
    // A new sender report moves the mapping by a few µs; a track's timestamps still only go forward.
    const last = this.#lastUs.get(trackId);
    const timestampUs = last === undefined ? sinceUs : Math.max(sinceUs, last + 1);
    this.#lastUs.set(trackId, timestampUs);
    return timestampUs;
  }

  /** Asks for a keyframe once per boundary, at the first frame within the lead of it (or past it: frames may be sparse). */
  #scheduleKeyframe(timestampUs: number): void {
    const boundary = gridSegmentIndex(this.#options.grid, timestampUs + KEYFRAME_REQUEST_LEAD_US);
    if (boundary > this.#requestedBoundary) {
      this.#requestedBoundary = boundary;
      this.#keyframeDue = true;
    }
  }

  #parameterSets(unit: AccessUnit): void {
    const sps = unit.nalUnits.find((nal) => avcNalType(nal[0]!) === AVC_NAL_SPS);
    const pps = unit.nalUnits.find((nal) => avcNalType(nal[0]!) === AVC_NAL_PPS);
    if (pps) this.#pps = pps;
    // Senders repeat the SPS with every keyframe: one already read needs no second reading.
    if (!sps || (this.#sps && sameBytes(sps, this.#sps))) return;
    if (sps.byteLength < 4) throw new RtpFormatError('bad-config', `an H.264 SPS of ${sps.byteLength} bytes`);
    const size = asConfigError(() => avcPictureSize(sps));
    if (this.#size && (size.width !== this.#size.width || size.height !== this.#size.height)) {
      // The sender scaled its picture (CPU or bandwidth adaptation): the new SPS travels in-band with every keyframe.
      this.#options.onWarning?.('whip.picture-size-changed', `${this.#size.width}x${this.#size.height} → ${size.width}x${size.height}`);
    }
    this.#sps = sps;
    this.#size = size;
  }

  #start(unit: AccessUnit): WireMessage[] {
    const sps = this.#sps!;
    const { width, height } = this.#size!;
    this.#originWallUs = this.#video.wallUs(unit.timestamp);
    this.#withAudio = this.#options.withAudio && this.#audio.known;
    // The first boundary's keyframe is asked for when the frames near it.
    this.#requestedBoundary = 0;
    const video: VideoTrackConfig = {
      type: 'track',
      kind: 'video',
      trackId: WHIP_VIDEO_TRACK_ID,
      codec: avcCodecString(sps),
      description: asConfigError(() => avcCFromParameterSets([sps], [this.#pps!])),
      width,
      height,
      rendition: `${height}p`,
    };
    const messages: WireMessage[] = [video];
    if (this.#withAudio) {
      const audio: AudioTrackConfig = { type: 'track', kind: 'audio', trackId: WHIP_AUDIO_TRACK_ID, codec: 'opus', sampleRate: OPUS_CLOCK_RATE, channels: OPUS_CHANNELS };
      messages.push(audio);
    }
    messages.push({ type: 'clock', timestampUs: 0, wallClockMs: this.#originWallUs / 1000, gridOriginUs: 0, encoderGop: true });
    return messages;
  }
}

/** A parameter set the shared H.264 parsers refuse is the sender's bad configuration. */
function asConfigError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CodecConfigError) throw new RtpFormatError('bad-config', err.message);
    throw err;
  }
}
