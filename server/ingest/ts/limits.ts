// Limits of the MPEG-TS ingest: a transport stream that exceeds one ends its publisher with a TsDemuxError 'too-large' (README, Limits).
import { MAX_MESSAGE_BYTES } from '../../../shared/protocol/index.ts';

export const TS_PACKET_BYTES = 188;
/** Largest PES packet, one encoded frame (or a run of audio frames): the same bound as a data-channel message. */
export const TS_MAX_PES_BYTES = MAX_MESSAGE_BYTES;
/** Largest PSI section (PAT, PMT): section_length is at most 1021, plus its 3-byte header. */
export const TS_MAX_SECTION_BYTES = 1024;
/**
 * Media held back before the stream starts: video from its first keyframe waits for the program's first audio frame,
 * so both tracks are announced before any chunk (the packager fixes its tracks at the first chunk).
 */
export const TS_MAX_PENDING_BYTES = 32 * 1024 * 1024;
/** How much video (decode time, µs) waits for the program's audio; past it the stream starts without audio. */
export const TS_AUDIO_WAIT_US = 2_000_000;
