// Public surface of the MPEG-TS ingest (the SRT path's media): transport-stream bytes in, wire messages out.
// Hand-written: mux.js's m2ts streams know only H.264 and ADTS stream types (no H.265, 0x24) and skip malformed input silently instead of failing it.
export { TsToWire, TS_AUDIO_TRACK_ID, TS_VIDEO_TRACK_ID } from './ts-to-wire.ts';
export { TsDemuxError } from './errors.ts';
