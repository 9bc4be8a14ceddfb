// Public surface of the tracker stage: the WebTorrent tracker, its path and its bounds.
export { Tracker, TRACKER_PATH } from './tracker.ts';
export type { SwarmDirectory } from './admission.ts';
export { TRACKER_DEFAULTS } from './config.ts';
