// Public surface of the access stage: publish keys, playback tokens, geo rules and media keys, checked at origin and edge.
export { CbcRun, encryptResource, encryptsStream, ivAttribute, MEDIA_ENCRYPTION_DEFAULTS, MediaKeyError, StreamKeys } from './media-keys.ts';
export type { MediaEncryptionConfig, MediaKey } from './media-keys.ts';
