// A real WebRTC publisher without a browser: replays an ffmpeg-made H.264 + Opus file through node-datachannel at
// real-time pace, speaking shared/protocol, so benches spend the machine's CPU on the servers instead of Chromium.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DataChannel } from 'node-datachannel';
import { connectPeer, type PublisherPeer } from './datachannel-peer.ts';
import type { Sample } from 'mp4box';
import { WireWriter, type ChunkMessage, type TrackConfigMessage, type WireMessage } from '../../shared/protocol/index.ts';
import { avcCodecString, demuxMp4, findBoxPayload, opusHeadFromDOps } from './mp4-media.ts';

const run = promisify(execFile);

export interface NodePublisherOptions {
  /** The origin (or all-in-one server) that takes `POST /api/publish/NAME`. */
  baseUrl: string;
  stream: string;
  /** Video size and rendition name; 1280x720 `720p` (the browser broadcaster's default rung) unless given. */
  width?: number;
  height?: number;
  rendition?: string;
  videoBitrate?: number;
  /**
   * Several rungs instead of the one above: each encoded from the same test source with keyframes at the same times,
   * sent as one video track per rung (with its `rendition`) beside one audio track.
   */
  ladder?: readonly Rung[];
  /** Length of the file that is looped, seconds; a multiple of the GOP. */
  sourceSeconds?: number;
  /** Seconds between keyframes (segments can be no shorter); 2 unless given. */
  gopSeconds?: number;
  /** Sent as `Authorization: Bearer KEY` on the offer and the session's DELETE. */
  publishKey?: string;
  /** Media made earlier by makeSource (benches share one among many publishers); the options above that shape it are then ignored. */
  source?: SourceMedia;
}

export interface Rung {
  rendition: string;
  width: number;
  height: number;
  videoBitrate: number;
}

export interface NodePublisher {
  /** The session URL the server returned (`Location` of the 201). */
  readonly location: string | null;
  /** Whole messages and bytes written to the data channel so far. */
  readonly stats: { messagesSent: number; bytesSent: number; loops: number };
  /** Sends `end`, waits for it to leave and closes the connection. */
  stop(): Promise<void>;
}

const AUDIO_TRACK = 1;
/** Wire track id of rung `index`: the first rung keeps track 0, the others follow the audio track. */
const videoTrackId = (index: number): number => (index === 0 ? 0 : index + 1);
const FRAMERATE = 30;
/** Back-pressure: stop writing above this many queued bytes, resume once the queue falls to LOW. */
const HIGH_BUFFERED_BYTES = 1024 * 1024;
const LOW_BUFFERED_BYTES = 256 * 1024;
const DRAIN_TIMEOUT_MS = 2_000;

export interface TimedSample {
  trackId: number;
  /** Offset from the start of the file, microseconds. */
  offsetUs: number;
  durationUs: number;
  keyframe: boolean;
  data: Uint8Array;
}

export interface SourceMedia {
  tracks: TrackConfigMessage[];
  /** Both tracks' samples in send order (by time). */
  samples: TimedSample[];
  /** The file's length; loop n plays at n × periodUs. */
  periodUs: number;
}

/** Encodes one rung of the looped source: libx264 Baseline with a keyframe every `gopSeconds` (forced at the same times in every rung), no B-frames, and Opus 48 kHz. */
export async function encodeRung(path: string, rung: Rung, sourceSeconds: number, gopSeconds: number): Promise<void> {
  const gopFrames = String(Math.round(gopSeconds * FRAMERATE));
  await run('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${rung.width}x${rung.height}:rate=${FRAMERATE}`,
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(sourceSeconds),
    '-c:v', 'libx264', '-profile:v', 'baseline', '-pix_fmt', 'yuv420p', '-preset', 'veryfast',
    '-b:v', String(rung.videoBitrate), '-maxrate', String(rung.videoBitrate), '-bufsize', String(rung.videoBitrate),
    '-g', gopFrames, '-keyint_min', gopFrames, '-sc_threshold', '0', '-bf', '0', '-force_key_frames', `expr:gte(t,n_forced*${gopSeconds})`,
    '-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2',
    '-movflags', '+faststart',
    path,
  ]);
}

/** Encodes and demuxes every rung of the looped source; the audio comes from the first rung's file. */
export async function makeSource(dir: string, ladder: readonly Rung[], sourceSeconds: number, gopSeconds: number): Promise<SourceMedia> {
  const files = await Promise.all(
    ladder.map(async (rung, index) => {
      const path = join(dir, `source-${index}.mp4`);
      await encodeRung(path, rung, sourceSeconds, gopSeconds);
      return demuxMp4(path);
    }),
  );
  const tracks: TrackConfigMessage[] = [];
  const timed = (trackId: number, timescale: number) => (s: Sample): TimedSample => ({
    trackId,
    offsetUs: Math.round((s.dts * 1_000_000) / timescale),
    durationUs: Math.round((s.duration * 1_000_000) / timescale),
    keyframe: s.is_sync,
    data: s.data ?? new Uint8Array(0),
  });
  const video: TimedSample[] = [];
  let periodUs = 0;
  files.forEach((source, index) => {
    const rung = ladder[index]!;
    const avcC = findBoxPayload(source.bytes, 'avcC');
    const trackId = videoTrackId(index);
    tracks.push({
      type: 'track', kind: 'video', trackId, codec: avcCodecString(avcC), description: avcC,
      width: rung.width, height: rung.height, framerate: FRAMERATE, bitrate: rung.videoBitrate, rendition: rung.rendition,
    });
    const samples = source.video.samples.map(timed(trackId, source.video.timescale));
    const last = samples.at(-1);
    if (!last || !samples[0]?.keyframe) throw new Error(`rung ${rung.rendition} has no video starting on a keyframe`);
    periodUs = Math.max(periodUs, last.offsetUs + last.durationUs);
    video.push(...samples);
  });
  const first = files[0]!;
  tracks.push({
    type: 'track', kind: 'audio', trackId: AUDIO_TRACK, codec: 'opus', description: opusHeadFromDOps(findBoxPayload(first.bytes, 'dOps')),
    sampleRate: 48_000, channels: 2, bitrate: 64_000,
  });
  // Audio running past the video's end would overlap the next loop's first packets; the loop is the video's length.
  const audio = first.audio.samples.map(timed(AUDIO_TRACK, first.audio.timescale)).filter((s) => s.offsetUs + s.durationUs <= periodUs);
  const samples = [...video, ...audio].sort((a, b) => a.offsetUs - b.offsetUs || a.trackId - b.trackId);
  return { tracks, samples, periodUs };
}

/** Offers a data channel from node-datachannel and POSTs the complete offer (no trickle) to the publish API. */
function connect(baseUrl: string, stream: string, publishKey: string | undefined): Promise<PublisherPeer & { answer: { location: string | null } }> {
  const authorization: Record<string, string> = publishKey ? { Authorization: `Bearer ${publishKey}` } : {};
  return connectPeer(`node-publisher-${stream}`, async (offerSdp) => {
    const res = await fetch(`${baseUrl}/api/publish/${encodeURIComponent(stream)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', ...authorization },
      body: offerSdp,
    });
    const answerSdp = await res.text();
    if (res.status !== 201) throw new Error(`publish refused: ${res.status} ${answerSdp}`);
    const location = res.headers.get('Location');
    return {
      answerSdp,
      location,
      // A refused answer leaves the origin's session for this offer open: release it so that a new offer takes the name.
      release: async () => {
        if (location) await fetch(new URL(location, baseUrl), { method: 'DELETE', headers: authorization }).catch(() => undefined);
      },
    };
  });
}

class Publisher implements NodePublisher {
  readonly location: string | null;
  #peer: PublisherPeer;
  #dc: DataChannel;
  #writer: WireWriter;
  #source: SourceMedia;
  #loops = 0;
  #stopped = false;
  /** Wakes the send loop early (stop, or the queue drained). */
  #wake: (() => void) | undefined;
  #loop: Promise<void>;

  constructor(peer: PublisherPeer, location: string | null, source: SourceMedia) {
    const dc = peer.channel;
    this.#peer = peer;
    this.#dc = dc;
    this.location = location;
    this.#source = source;
    this.#writer = new WireWriter({ maxFrameBytes: dc.maxMessageSize(), send: (frame) => dc.sendMessageBinary(frame) });
    dc.setBufferedAmountLowThreshold(LOW_BUFFERED_BYTES);
    dc.onBufferedAmountLow(() => this.#wake?.());
    dc.onClosed(() => {
      this.#stopped = true;
      this.#wake?.();
    });
    this.#loop = this.#run();
  }

  get stats(): NodePublisher['stats'] {
    return { messagesSent: this.#writer.messagesSent, bytesSent: this.#writer.bytesSent, loops: this.#loops };
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#wake?.();
      await this.#loop;
      if (this.#dc.isOpen()) {
        this.#writer.write({ type: 'end' });
        const deadline = performance.now() + DRAIN_TIMEOUT_MS;
        while (this.#dc.isOpen() && this.#dc.bufferedAmount() > 0 && performance.now() < deadline) await this.#sleep(20);
      }
    }
    await this.#loop;
    this.#peer.close();
  }

  /**
   * Sends the clock, the track configs, then every sample when its time comes: loop n's samples are stamped
   * firstUs + n × period + offset, so timestamps keep increasing across loops as a live source's do. The file starts
   * on a keyframe, so its first frame is the segment grid's zero point, as the browser broadcaster's is.
   */
  async #run(): Promise<void> {
    const firstUs = Math.round(performance.now() * 1000);
    const startMs = performance.now();
    if (!this.#send({ type: 'clock', timestampUs: firstUs, wallClockMs: Date.now(), gridOriginUs: firstUs })) return;
    for (const track of this.#source.tracks) if (!this.#send(track)) return;
    const { samples, periodUs } = this.#source;
    for (let loop = 0; !this.#stopped; loop++) {
      this.#loops = loop;
      for (const sample of samples) {
        const mediaUs = loop * periodUs + sample.offsetUs;
        const dueMs = startMs + mediaUs / 1000 - performance.now();
        if (dueMs > 1) await this.#sleep(dueMs);
        while (!this.#stopped && this.#dc.bufferedAmount() > HIGH_BUFFERED_BYTES) await this.#sleep(1000);
        if (this.#stopped) return;
        const chunk: ChunkMessage = {
          type: 'chunk',
          trackId: sample.trackId,
          keyframe: sample.keyframe,
          timestampUs: firstUs + mediaUs,
          durationUs: sample.durationUs,
          data: sample.data,
        };
        if (!this.#send(chunk)) return;
      }
    }
  }

  /**
   * Writes one message; false once the channel has closed (the server ended the session: its onClosed callback may
   * come after a send has already failed, and a test that expects the refusal must not meet an unhandled error).
   */
  #send(message: WireMessage): boolean {
    try {
      this.#writer.write(message);
      return true;
    } catch (err) {
      if (this.#dc.isOpen()) throw err;
      this.#stopped = true;
      return false;
    }
  }

  /** Sleeps up to `ms`, cut short by stop() or the queue draining. */
  #sleep(ms: number): Promise<void> {
    return new Promise((done) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        done();
      }
      this.#wake = finish;
    });
  }
}

/** Encodes the source, connects, and starts publishing at real-time pace until `stop()`. */
export async function startNodePublisher(options: NodePublisherOptions): Promise<NodePublisher> {
  if (options.source) {
    const peer = await connect(options.baseUrl, options.stream, options.publishKey);
    return new Publisher(peer, peer.answer.location, options.source);
  }
  const dir = await mkdtemp(join(tmpdir(), 'swarmcast-node-publisher-'));
  try {
    const ladder = options.ladder ?? [
      { width: options.width ?? 1280, height: options.height ?? 720, rendition: options.rendition ?? '720p', videoBitrate: options.videoBitrate ?? 2_500_000 },
    ];
    const source = await makeSource(dir, ladder, options.sourceSeconds ?? 4, options.gopSeconds ?? 2);
    const peer = await connect(options.baseUrl, options.stream, options.publishKey);
    return new Publisher(peer, peer.answer.location, source);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
