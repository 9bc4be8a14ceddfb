// Public surface of the tracker stage: the WebTorrent tracker and the path it answers on.
export { Tracker, TRACKER_PATH } from './tracker.ts';
