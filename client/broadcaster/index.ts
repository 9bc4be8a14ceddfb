// Public surface of the broadcaster stage: capture, encode and publish a live stream from a browser tab.
export { Broadcaster, NO_SESSION, type BroadcasterState, type BroadcasterStats } from './broadcaster.ts';
export { FramerateError, LadderError, defaultLadderSpec, parseFramerate, parseLadder } from './ladder.ts';
export { idleRungStats, type RungStats } from './session.ts';
export { DEFAULT_CONFIG } from './config.ts';
export { BroadcastError } from './errors.ts';
export { isSourceKind, type SourceKind } from './source.ts';
