// Public surface of the broadcaster stage: capture, encode and publish a live stream from a browser tab.
export { Broadcaster, type BroadcasterEvents, type BroadcasterOptions, type BroadcasterState, type BroadcasterStats } from './broadcaster.ts';
export { DEFAULT_CONFIG, DEFAULT_LADDER, ConfigError, resolveConfig, type AudioSettings, type BroadcasterConfig, type Rung } from './config.ts';
export { BroadcastError, type BroadcastErrorCode } from './errors.ts';
export { KeyframeSchedule } from './keyframe-schedule.ts';
export { DATA_CHANNEL_LABEL, WebRtcPublisher, signalingError, type PublisherOptions } from './publisher.ts';
export { SOURCE_KINDS, isSourceKind, type CaptureSource, type SourceKind } from './source.ts';
export type { PublishTransport, TransportConnector, TransportEvents, TransportLimits } from './transport.ts';
