// Public surface of the ingest stage: publish sessions handed out as PublishedStreams.
export { Ingest, type IngestEvents, type MediaTiming, type PublishAnswer } from './ingest.ts';
export { INGEST_DEFAULTS, type IngestConfig } from './config.ts';
export { IngestError, type IngestErrorCode } from './errors.ts';
export { registerIngestRoutes } from './http.ts';
export type { PublishedStream, PublishedStreamEvents, PublishEndReason } from './published-stream.ts';
