// Public surface of the transcode stage: ladders made at the origin for field encoders' single-rendition streams.
export { Transcoder, TRANSCODE_DEFAULTS, type TranscodeConfig } from './transcoder.ts';
export { parseLadder } from './ladder.ts';
export { TranscodeLadderError } from './errors.ts';
export { registerTranscodeRoutes } from './http.ts';
