// Cuts one rendition (one video track plus the shared audio track) into CMAF chunks, parts and segments.
import { gridSegmentIndex, gridSegmentStartUs, type SegmentGrid } from '../../shared/segment-grid.ts';
import { concat } from './mp4/writer.ts';
import { fragment, SAMPLE_FLAGS_NON_SYNC, SAMPLE_FLAGS_SYNC, type FragmentSample, type TrackRun } from './mp4/fragment.ts';
import type { Part, PartChunk, RenditionInit, SegmentInfo } from './types.ts';

/** A sample placed on the stream's timeline. */
export interface TimedSample {
  /** Microseconds since the stream's time origin (the clock message's timestamp). */
  timeUs: number;
  /** Decode time in the track's timescale, computed from `timeUs` alone so that nothing drifts. */
  decodeTime: number;
  keyframe: boolean;
  data: Uint8Array;
}

export interface VideoSample extends TimedSample {
  /** The publisher's duration in the video timescale, 0 when unknown; only used to predict where a part ends. */
  durationHint: number;
  /** Presentation minus decode time in the video timescale (B-frames); absent is 0. */
  compositionOffset?: number;
}

export interface AudioSample extends TimedSample {
  /** Known once the next audio sample arrived (or estimated at the end of the stream). */
  duration: number;
}

export interface RenditionCutterOptions {
  init: RenditionInit;
  /** MP4 track_ID of the video and audio `trak`s in `init`. */
  videoTrackId: number;
  audioTrackId: number;
  videoTimescale: number;
  /** Timescale of the audio track's decode times; absent when the rendition has no audio. */
  audioTimescale?: number;
  partTargetUs: number;
  /** Where segments may start (the publisher forces keyframes there), counted from `gridOriginUs`. */
  grid: SegmentGrid;
  /**
   * The grid's zero point, µs on the stream's timeline, shared by every rendition of the stream. Without one (a
   * publisher that does not send it), the grid is counted from this rendition's first keyframe.
   */
  gridOriginUs?: number;
  /** Wall-clock time of the time origin, ms since the epoch. */
  originWallClockMs: number;
  /**
   * Set when the rendition continues a stream after its publisher reconnected: the media sequence number its grid's
   * cell 0 gets (segments before were the previous publisher's), and its first segment starts with a discontinuity.
   */
  continuation?: { firstMsn: number; firstSequenceNumber: number };
}

export interface RenditionSink {
  init(init: RenditionInit): void;
  chunk(chunk: PartChunk): void;
  part(part: Part): void;
  segment(segment: SegmentInfo): void;
}

/** Audio kept while waiting for the rendition's first keyframe: about 10 s of 20 ms packets, then the oldest go. */
const MAX_AUDIO_BEFORE_FIRST_KEYFRAME = 500;
/**
 * Longest a video frame waits for the audio that plays with it. Audio encoders run a packet or two behind video;
 * waiting lets each chunk carry exactly the audio that starts during its frame, so no segment ends with its audio
 * short of its video (a muxed buffer would then end early, and hls.js stalls looking for the part at that time).
 */
const MAX_AUDIO_WAIT_US = 200_000;
/**
 * Timestamps are whole microseconds, so frames of 1/30 s are 33333 or 33334 µs apart: predicting a part's end from the
 * last interval can overshoot the part target by this much when the part will in fact end exactly on it.
 */
const TIMESTAMP_ROUNDING_US = 2;
/** Frame duration assumed for a last frame when neither the publisher nor the frame rate tells (30 fps). */
const FALLBACK_FRAME_US = 1_000_000 / 30;

interface OpenSegment {
  msn: number;
  /** The first segment of a continuation: its part 0 carries `discontinuity`. */
  discontinuity: boolean;
  startUs: number;
  startTicks: number;
  partCount: number;
}

interface OpenPart {
  startUs: number;
  startTicks: number;
  /** The chunks emitted so far; the part is their concatenation. */
  chunks: Uint8Array[];
  independent: boolean;
}

export class RenditionCutter {
  #options: RenditionCutterOptions;
  #sink: RenditionSink;
  #partTargetTicks: number;
  /** Decode time of the grid's zero point. */
  #gridStartTicks = 0;
  /** The grid index of the next segment: a keyframe at or after its start (less half a frame) opens it. */
  #nextSegmentIndex = 1;
  #roundingTicks: number;
  #started = false;
  /** The latest video sample: its duration is only known when the next one arrives. */
  #pending: VideoSample | undefined;
  #lastIntervalTicks = 0;
  #segment: OpenSegment | undefined;
  #part: OpenPart | undefined;
  #nextMsn = 0;
  #sequenceNumber = 0;
  #startUs = 0;
  /** Complete audio samples not yet written, in timestamp order. */
  #audio: AudioSample[] = [];
  /** End of the latest complete audio sample received, µs since the origin. */
  #audioEndUs = Number.NEGATIVE_INFINITY;
  /** Video frames waiting for their audio (see MAX_AUDIO_WAIT_US). */
  #videoQueue: VideoSample[] = [];
  /** Time of the latest video frame received, µs since the origin. */
  #lastVideoUs = Number.NEGATIVE_INFINITY;
  /** End of the last part emitted, µs since the origin: how far the rendition's playlist reaches. */
  #partsEndUs = 0;
  /** End of the last frame written, in ticks. */
  #writtenEndTicks: number | undefined;
  /**
   * Set while the rendition is paused (see coverUntil): the end of the GAP parts emitted so far, in ticks. Cleared by
   * the keyframe that resumes it.
   */
  #gapEndTicks: number | undefined;
  /** A continuation's first segment is still to be opened. */
  #discontinuityDue: boolean;

  constructor(options: RenditionCutterOptions, sink: RenditionSink) {
    this.#options = options;
    this.#sink = sink;
    this.#partTargetTicks = this.#usToTicks(options.partTargetUs);
    this.#roundingTicks = Math.ceil((TIMESTAMP_ROUNDING_US * options.videoTimescale) / 1_000_000);
    this.#discontinuityDue = options.continuation !== undefined;
    this.#sequenceNumber = options.continuation?.firstSequenceNumber ?? 0;
  }

  /** The media sequence number the rendition's next segment would get. */
  get nextMsn(): number {
    return this.#segment ? this.#segment.msn + 1 : this.#nextMsn;
  }

  /** The last `moof` sequence number written. */
  get sequenceNumber(): number {
    return this.#sequenceNumber;
  }

  /**
   * Starts a continuation's rendition that its new publisher does not send (the rendition set changed): paused from
   * `startUs`, it then mirrors the segments of a rendition with media with GAP parts (mirrorSegment), so its playlist
   * stays live and in step, and a player on it switches to a rendition with media, as from a paused rung.
   */
  startPaused(startUs: number): void {
    if (this.#started) return;
    this.#started = true;
    this.#startUs = startUs;
    this.#nextMsn = this.#options.continuation?.firstMsn ?? 0;
    this.#sink.init(this.#options.init);
    this.#gapEndTicks = this.#usToTicks(startUs);
  }

  /**
   * A paused rendition (startPaused) covers another rendition's segment, which ended at `endUs`, with a segment of GAP
   * parts: segment by segment rather than on the grid, because a publisher may key the grid's short first segment or not.
   */
  mirrorSegment(endUs: number): void {
    const from = this.#gapEndTicks;
    const to = this.#usToTicks(endUs);
    if (from === undefined || to <= from) return;
    this.#segment = this.#newSegment(this.#ticksToUs(from), from);
    this.#emitGapParts(this.#segment, from, to);
    this.#closeSegment(to);
    this.#gapEndTicks = to;
  }

  /**
   * After end(): brings a rendition that ended a media sequence number behind another (see StreamPackager's
   * interrupt) level with it, with GAP segments from its own end to `endUs`, the other's, shared out evenly. Each is
   * at least a frame long, past `endUs` if need be (this rendition's media may reach later than the other's): every
   * rendition goes on from the same number, so none may stay behind.
   */
  padTo(msn: number, endUs: number): void {
    if (!this.#started || this.#segment || msn <= this.#nextMsn) return;
    const from = this.#gapEndTicks ?? this.#usToTicks(this.#partsEndUs);
    const count = msn - this.#nextMsn;
    const frameTicks = this.#lastIntervalTicks > 0 ? this.#lastIntervalTicks : this.#usToTicks(FALLBACK_FRAME_US);
    const to = Math.max(this.#usToTicks(endUs), from + count * frameTicks);
    for (let i = 0; i < count; i++) {
      const start = from + Math.round(((to - from) * i) / count);
      const end = from + Math.round(((to - from) * (i + 1)) / count);
      this.#segment = this.#newSegment(this.#ticksToUs(start), start);
      this.#emitGapParts(this.#segment, start, end);
      this.#closeSegment(end);
    }
  }

  /** End of the last part emitted, µs since the stream's time origin. */
  get partsEndUs(): number {
    return this.#partsEndUs;
  }

  /**
   * Another rendition of the stream has parts up to `endUs`. When this one has had no video for `pauseAfterUs` before
   * that (the publisher stopped sending it: it dropped the rung, or its encoder stalled), it is paused: its open part
   * is closed after its last frame, and from there its timeline follows the others' with GAP parts, cut on the same
   * segment grid, so that its playlist stays live and in step with theirs (same media sequence numbers, same segment
   * boundaries) and a player on it switches to a rung with media instead of waiting on a playlist that stopped. It
   * resumes on the first keyframe at or after the GAP parts' end; frames before that, late or not independent, are
   * dropped.
   */
  coverUntil(endUs: number, pauseAfterUs: number): void {
    if (this.#gapEndTicks === undefined) {
      if (!this.#pending || !this.#segment || endUs - this.#lastVideoUs <= pauseAfterUs) return;
      this.#drainVideo(true);
      const last = this.#pending;
      if (!last) return;
      const partEnd = (this.#part?.startTicks ?? last.decodeTime) + this.#partTargetTicks;
      const duration = Math.max(1, Math.min(this.#frameDuration(last), partEnd - last.decodeTime));
      this.#pending = undefined;
      this.#writeChunk(last, duration, last.timeUs + this.#ticksToUs(duration));
      this.#closePart(last.decodeTime + duration);
      this.#gapEndTicks = last.decodeTime + duration;
    }
    const endTicks = this.#usToTicks(endUs);
    if (endTicks <= this.#gapEndTicks) return;
    this.#emitGaps(this.#gapEndTicks, endTicks);
    this.#gapEndTicks = endTicks;
    // The paused rendition's audio has no part to go in; the other renditions carry it.
    this.#audio = this.#audio.filter((a) => a.timeUs >= endUs);
  }

  pushVideo(sample: VideoSample): void {
    this.#lastVideoUs = Math.max(this.#lastVideoUs, sample.timeUs);
    if (this.#options.audioTimescale === undefined) {
      this.#advance(sample);
      return;
    }
    this.#videoQueue.push(sample);
    this.#drainVideo(false);
  }

  /** Cuts the frames whose audio has arrived (or waited long enough); all of them when `force`. */
  #drainVideo(force: boolean): void {
    while (this.#videoQueue.length > 0) {
      const next = this.#videoQueue[0]!;
      // Writing `next` writes the frame before it, which ends at next.timeUs.
      const ready =
        force ||
        !this.#pending ||
        this.#audioEndUs >= next.timeUs ||
        this.#videoQueue.at(-1)!.timeUs - next.timeUs > MAX_AUDIO_WAIT_US;
      if (!ready) return;
      this.#videoQueue.shift();
      this.#advance(next);
    }
  }

  #advance(sample: VideoSample): void {
    if (this.#gapEndTicks !== undefined) {
      this.#resume(sample);
      return;
    }
    const previous = this.#pending;
    if (!previous) {
      // A rendition starts on a keyframe: earlier frames cannot be decoded.
      if (!sample.keyframe) return;
      this.#start(sample);
      return;
    }
    const interval = sample.decodeTime - previous.decodeTime;
    this.#pending = sample;
    const segment = this.#segment;
    // Open from the first keyframe until end(), which also clears #pending.
    if (!segment || !this.#part) return;
    if (interval > this.#partTargetTicks) {
      this.#pushAfterPause(previous, sample, segment);
      return;
    }
    const part = this.#part;
    // A frame that comes late (capture jitter, a dropped frame) would stretch the part past the part target, which
    // the spec forbids: the previous frame is shortened to end on the target, and the next part starts there, a
    // little before its first frame (a hole shorter than one frame interval, which MSE bridges).
    const partEnd = part.startTicks + this.#partTargetTicks;
    const overrun = previous.decodeTime + interval > partEnd;
    this.#writeChunk(previous, overrun ? partEnd - previous.decodeTime : interval, sample.timeUs);
    this.#lastIntervalTicks = interval;

    const newSegment = this.#opensSegment(sample, interval);
    const estimated = sample.durationHint > 0 ? sample.durationHint : interval;
    const newPart = overrun || newSegment || sample.decodeTime - part.startTicks + estimated > this.#partTargetTicks + this.#roundingTicks;
    if (newPart) {
      const endTicks = overrun ? partEnd : sample.decodeTime;
      this.#closePart(endTicks);
      if (newSegment) this.#closeSegment(endTicks);
      this.#openPart(sample, endTicks);
    }
  }

  /**
   * Video paused for longer than a part target (frames are missing: the capture stalled or the encoder dropped them).
   * The last frame keeps its usual duration, and the time with no video becomes GAP parts, so that no part outgrows
   * the part target and players skip the hole instead of fetching it. Audio of the hole goes with the next frame.
   */
  #pushAfterPause(previous: VideoSample, next: VideoSample, segment: OpenSegment): void {
    const gapEnd = next.decodeTime;
    const partEnd = this.#part ? this.#part.startTicks + this.#partTargetTicks : gapEnd;
    const duration = Math.min(this.#frameDuration(previous), gapEnd - previous.decodeTime, partEnd - previous.decodeTime);
    const previousEnd = previous.decodeTime + duration;
    this.#writeChunk(previous, duration, previous.timeUs + this.#ticksToUs(duration));
    this.#closePart(previousEnd);
    // In the open segment, which the next keyframe on the grid ends: a segment starting with a GAP would not start
    // with an independent part.
    this.#emitGapParts(segment, previousEnd, gapEnd);
    const newSegment = this.#opensSegment(next, duration);
    if (newSegment) this.#closeSegment(gapEnd);
    this.#openPart(next);
  }

  /** A paused rendition's next frame: a keyframe at or after the GAP parts' end resumes it; other frames are dropped. */
  #resume(sample: VideoSample): void {
    const gapEnd = this.#gapEndTicks;
    if (gapEnd === undefined || !sample.keyframe || sample.decodeTime < gapEnd) return;
    this.#gapEndTicks = undefined;
    const frame = this.#frameDuration(sample);
    // A hole of up to a frame opens the part (as after a late frame); a longer one is a GAP of its own.
    let start = gapEnd;
    if (sample.decodeTime - gapEnd > frame) {
      this.#emitGaps(gapEnd, sample.decodeTime);
      start = sample.decodeTime;
    }
    if (this.#opensSegment(sample, frame)) this.#closeSegment(start);
    this.#audio = this.#audio.filter((a) => a.timeUs >= this.#ticksToUs(start));
    this.#openPart(sample, start);
    this.#pending = sample;
  }

  /**
   * Emits GAP parts (no bytes) covering `fromTicks` to `toTicks`, with no part open: parts of at most the part target,
   * in the open segment until the next grid boundary, where a segment ends and the next one starts, so that a long
   * pause becomes segments of the grid's lengths rather than one overlong segment.
   */
  #emitGaps(fromTicks: number, toTicks: number): void {
    let start = fromTicks;
    while (start < toTicks) {
      const grid = this.#options.grid;
      const boundary = this.#gridStartTicks + this.#usToTicks(gridSegmentStartUs(grid, this.#nextSegmentIndex));
      if (start > boundary) {
        // The open segment passed its boundary without a keyframe, so it runs on to the next boundary, as with media.
        this.#nextSegmentIndex = gridSegmentIndex(grid, this.#ticksToUs(start - this.#gridStartTicks)) + 1;
        continue;
      }
      if (start === boundary) {
        this.#closeSegment(start);
        this.#nextSegmentIndex++;
        continue;
      }
      const end = Math.min(toTicks, boundary);
      if (!this.#segment) this.#segment = this.#newSegment(this.#ticksToUs(start), start);
      this.#emitGapParts(this.#segment, start, end);
      start = end;
    }
  }

  /** Emits GAP parts of at most the part target covering `fromTicks` to `toTicks` in `segment`. */
  #emitGapParts(segment: OpenSegment, fromTicks: number, toTicks: number): void {
    const count = Math.ceil((toTicks - fromTicks) / this.#partTargetTicks);
    for (let i = 0; i < count; i++) {
      const startTicks = fromTicks + Math.round(((toTicks - fromTicks) * i) / count);
      const endTicks = fromTicks + Math.round(((toTicks - fromTicks) * (i + 1)) / count);
      this.#partsEndUs = this.#ticksToUs(endTicks);
      const part: Part = {
        rendition: this.#options.init.rendition,
        msn: segment.msn,
        partIndex: segment.partCount++,
        durationUs: this.#ticksToUs(endTicks - startTicks),
        independent: false,
        programDateTimeMs: this.#options.originWallClockMs + this.#ticksToUs(startTicks) / 1000,
        gap: true,
        data: new Uint8Array(0),
      };
      if (part.partIndex === 0 && segment.discontinuity) part.discontinuity = true;
      this.#sink.part(part);
    }
  }

  pushAudio(sample: AudioSample): void {
    const timescale = this.#options.audioTimescale;
    if (timescale !== undefined) {
      this.#audioEndUs = Math.max(this.#audioEndUs, sample.timeUs + (sample.duration * 1_000_000) / timescale);
    }
    this.#queueAudio(sample);
    this.#drainVideo(false);
  }

  #queueAudio(sample: AudioSample): void {
    if (!this.#started) {
      this.#audio.push(sample);
      if (this.#audio.length > MAX_AUDIO_BEFORE_FIRST_KEYFRAME) this.#audio.shift();
      return;
    }
    // Audio from before the rendition's first frame has no part to go in.
    if (sample.timeUs < this.#startUs) return;
    this.#audio.push(sample);
  }

  /**
   * end() for a publisher that dropped: its last video frames may have come without the audio that plays with them,
   * which it never sent. A muxed buffer ends where the shorter track ends, so a player would buffer nothing of those
   * frames; a short segment made only of them (the keyframe at a boundary, then the drop) leaves its buffer ending in
   * the segment before, and hls.js then asks for nothing after the discontinuity (it looks for the segment after the one
   * its buffer ends in, already loaded) until it reloads the level, 10-20 s later. So frames starting at or after the
   * end of the audio are dropped, with a segment that would hold nothing else.
   */
  interrupt(): void {
    const audioEndUs = this.#audioEndUs;
    if (this.#options.audioTimescale === undefined || !Number.isFinite(audioEndUs) || this.#gapEndTicks !== undefined) {
      this.end();
      return;
    }
    this.#videoQueue = this.#videoQueue.filter((frame) => frame.timeUs < audioEndUs);
    this.#drainVideo(true);
    const pending = this.#pending;
    if (!pending || pending.timeUs < audioEndUs) {
      this.end();
      return;
    }
    this.#pending = undefined;
    const writtenEnd = this.#writtenEndTicks;
    // An open part with frames written ends where they end; one without any (closePart leaves it) is dropped.
    if (writtenEnd !== undefined) this.#closePart(writtenEnd);
    this.#part = undefined;
    const segment = this.#segment;
    if (!segment) return;
    if (segment.partCount === 0) {
      // Nothing of it was sent: its number is the next segment's, and a continuation's discontinuity is still due.
      this.#segment = undefined;
      this.#nextMsn = segment.msn;
      this.#discontinuityDue = segment.discontinuity;
      return;
    }
    this.#closeSegment(writtenEnd ?? segment.startTicks);
  }

  /** Writes the pending frame, the open part (with all remaining audio) and closes the segment. */
  end(): void {
    this.#drainVideo(true);
    const pending = this.#pending;
    if (this.#gapEndTicks !== undefined) this.#closeSegment(this.#gapEndTicks);
    if (!pending) return;
    // An estimated duration must not stretch the last part past the part target either.
    const partEnd = (this.#part?.startTicks ?? pending.decodeTime) + this.#partTargetTicks;
    const duration = Math.max(1, Math.min(this.#frameDuration(pending), partEnd - pending.decodeTime));
    this.#pending = undefined;
    this.#writeChunk(pending, duration, Number.POSITIVE_INFINITY);
    this.#closePart(pending.decodeTime + duration);
    this.#closeSegment(pending.decodeTime + duration);
  }

  /** A frame's duration when the next frame does not tell: the publisher's, else the last interval, else 30 fps. */
  #frameDuration(frame: VideoSample): number {
    if (frame.durationHint > 0) return frame.durationHint;
    return this.#lastIntervalTicks > 0 ? this.#lastIntervalTicks : this.#usToTicks(FALLBACK_FRAME_US);
  }

  /**
   * Whether keyframe `frame` starts the next segment: it is at or past the next grid boundary, with half a frame of
   * slack for rounding. Boundaries stay on the grid, so a segment cut a frame late (the encoder dropped its forced
   * keyframe) is followed by a shorter one, never by one that runs on to the boundary after.
   */
  #opensSegment(frame: VideoSample, intervalTicks: number): boolean {
    if (!frame.keyframe) return false;
    const grid = this.#options.grid;
    const halfFrameUs = this.#ticksToUs(intervalTicks) / 2;
    const sinceStartUs = this.#ticksToUs(frame.decodeTime - this.#gridStartTicks);
    const boundaryUs = gridSegmentStartUs(grid, this.#nextSegmentIndex);
    if (sinceStartUs < boundaryUs - halfFrameUs) return false;
    if (this.#nextSegmentIndex === 1 && grid.firstSegmentUs < grid.segmentTargetUs && sinceStartUs > boundaryUs + this.#options.partTargetUs) {
      // The short first segment is kept only when its keyframe came on time (the publisher forced one there). A later
      // keyframe is an encoder's own, or comes from a publisher that does not know the grid, and would cut each rung
      // at a different place: the first segment then runs to the next boundary.
      this.#nextSegmentIndex = 2;
      return this.#opensSegment(frame, intervalTicks);
    }
    this.#nextSegmentIndex = gridSegmentIndex(grid, sinceStartUs + halfFrameUs) + 1;
    return true;
  }

  /**
   * Starts the rendition on its first keyframe. A rendition whose first keyframes were lost starts later, inside the
   * grid: its first segment is numbered after the grid cell it starts in and ends on the grid's next boundary, so its
   * boundaries and media sequence numbers stay those of the renditions that started on time.
   */
  #start(sample: VideoSample): void {
    this.#started = true;
    this.#placeOnGrid(sample.decodeTime, this.#frameDuration(sample));
    this.#startUs = sample.timeUs;
    this.#audio = this.#audio.filter((a) => a.timeUs >= sample.timeUs);
    this.#sink.init(this.#options.init);
    this.#openPart(sample);
    this.#pending = sample;
  }

  /** Sets the grid's zero point and the grid cell (and so the media sequence number) of the segment starting at `startTicks`. */
  #placeOnGrid(startTicks: number, frameTicks: number): void {
    const { grid, gridOriginUs } = this.#options;
    this.#gridStartTicks = gridOriginUs === undefined ? startTicks : this.#usToTicks(gridOriginUs);
    const sinceStartUs = this.#ticksToUs(startTicks - this.#gridStartTicks);
    // The same half-frame slack as #opensSegment: a keyframe just before a boundary (rounding) is the boundary's.
    const cell = gridSegmentIndex(grid, sinceStartUs + this.#ticksToUs(frameTicks) / 2);
    // A continuation's media sequence numbers go on from the previous session's, wherever in its grid it starts.
    this.#nextMsn = this.#options.continuation?.firstMsn ?? cell;
    this.#nextSegmentIndex = cell + 1;
  }

  #newSegment(startUs: number, startTicks: number): OpenSegment {
    const discontinuity = this.#discontinuityDue;
    this.#discontinuityDue = false;
    return { msn: this.#nextMsn++, discontinuity, startUs, startTicks, partCount: 0 };
  }

  /** Opens a part whose first frame is `first`; the part starts at `startTicks` (at most a frame interval earlier). */
  #openPart(first: VideoSample, startTicks = first.decodeTime): void {
    const startUs = first.timeUs - this.#ticksToUs(first.decodeTime - startTicks);
    if (!this.#segment) this.#segment = this.#newSegment(startUs, startTicks);
    this.#part = { startUs, startTicks, chunks: [], independent: first.keyframe };
  }

  /** Emits one chunk of the open part: `frame` and the audio that starts before `endUs` (the frame's end). */
  #writeChunk(frame: VideoSample, duration: number, endUs: number): void {
    const part = this.#part;
    const segment = this.#segment;
    if (!part || !segment) return;
    let audioCount = 0;
    while (audioCount < this.#audio.length && (this.#audio[audioCount]?.timeUs ?? endUs) < endUs) audioCount++;
    const audio = this.#audio.splice(0, audioCount);
    const video: FragmentSample = { duration, flags: frame.keyframe ? SAMPLE_FLAGS_SYNC : SAMPLE_FLAGS_NON_SYNC, data: frame.data };
    if (frame.compositionOffset) video.compositionOffset = frame.compositionOffset;
    const runs: TrackRun[] = [{ trackId: this.#options.videoTrackId, baseDecodeTime: frame.decodeTime, samples: [video] }];
    const firstAudio = audio[0];
    if (firstAudio) {
      runs.push({
        trackId: this.#options.audioTrackId,
        baseDecodeTime: firstAudio.decodeTime,
        samples: audio.map((a) => ({ duration: a.duration, flags: SAMPLE_FLAGS_SYNC, data: a.data })),
      });
    }
    const data = fragment(++this.#sequenceNumber, runs);
    this.#writtenEndTicks = frame.decodeTime + duration;
    this.#sink.chunk({
      rendition: this.#options.init.rendition,
      msn: segment.msn,
      partIndex: segment.partCount,
      chunkIndex: part.chunks.length,
      independent: part.independent,
      data,
    });
    part.chunks.push(data);
  }

  /** Emits the open part, ending at `endTicks`: the concatenation of the chunks already emitted. */
  #closePart(endTicks: number): void {
    const part = this.#part;
    const segment = this.#segment;
    if (!part || !segment || part.chunks.length === 0) return;
    this.#partsEndUs = this.#ticksToUs(endTicks);
    const emitted: Part = {
      rendition: this.#options.init.rendition,
      msn: segment.msn,
      partIndex: segment.partCount,
      durationUs: this.#ticksToUs(endTicks - part.startTicks),
      independent: part.independent,
      programDateTimeMs: this.#options.originWallClockMs + part.startUs / 1000,
      data: concat(part.chunks),
    };
    if (emitted.partIndex === 0 && segment.discontinuity) emitted.discontinuity = true;
    this.#sink.part(emitted);
    segment.partCount++;
    this.#part = undefined;
  }

  #closeSegment(endTicks: number): void {
    const segment = this.#segment;
    if (!segment) return;
    this.#segment = undefined;
    this.#sink.segment({
      rendition: this.#options.init.rendition,
      msn: segment.msn,
      durationUs: this.#ticksToUs(endTicks - segment.startTicks),
      partCount: segment.partCount,
      programDateTimeMs: this.#options.originWallClockMs + segment.startUs / 1000,
    });
  }

  #usToTicks(us: number): number {
    return Math.round((us * this.#options.videoTimescale) / 1_000_000);
  }

  #ticksToUs(ticks: number): number {
    return Math.round((ticks * 1_000_000) / this.#options.videoTimescale);
  }
}
