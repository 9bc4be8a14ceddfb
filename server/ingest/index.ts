// Public surface of the ingest stage: publish sessions handed out as PublishedStreams.
export { Ingest, type FieldPath } from './ingest.ts';
export { INGEST_DEFAULTS, type IngestConfig } from './config.ts';
export { IngestError } from './errors.ts';
export { registerIngestRoutes } from './http.ts';
export { CONNECTION_LOST, type PublishedStream, type PublishedStreamEvents, type PublishEndReason } from './published-stream.ts';
export { RtmpServer } from './rtmp/index.ts';
export { admitSrtPublisher, SrtServer, SrtUnavailableError } from './srt/index.ts';
