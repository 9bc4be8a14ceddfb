// Public surface of the SRT ingest: the listener and its publishers; everything else is its process and pipe code.
// libsrt through a small C child (srt-listener.c): no npm package implements SRT.
export { SrtPublisher, SrtServer } from './server.ts';
export { SrtUnavailableError } from './binary.ts';
export { admitSrtPublisher } from './srt-session.ts';
