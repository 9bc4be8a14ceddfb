// Public surface of the RTMP ingest: the listener; everything else is its protocol code.
// Hand-written (compact): node-media-server 4, the one maintained npm RTMP server, hands out no packets and bounds no message size.
export { RtmpServer } from './server.ts';
