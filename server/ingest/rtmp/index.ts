// Public surface of the RTMP ingest: the listener; everything else is its protocol code.
export { RtmpServer } from './server.ts';
