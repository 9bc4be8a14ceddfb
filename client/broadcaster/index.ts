// Public surface of the broadcaster stage: capture, encode and publish a live stream from a browser tab.
export { Broadcaster, NO_SESSION, type BroadcasterState, type BroadcasterStats } from './broadcaster.ts';
export { LadderError, defaultLadderSpec, parseLadder } from './ladder.ts';
export { idleRungStats, type RungStats } from './session.ts';
export { BroadcastError } from './errors.ts';
export { isSourceKind, type SourceKind } from './source.ts';
