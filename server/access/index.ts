// Public surface of the access stage: publish keys, playback tokens, geo rules, media keys, checked at origin and edge.
export { MIN_PUBLISH_KEY_CHARS, PUBLISH_AUTH_DEFAULTS, PublishAuthError, PublishAuthorizer, PublishKeysError, hasPublishKeys, mintPublishToken, publishGate, readPublishKeysFile, type PublishAuthConfig } from './publish-auth.ts';
export { BEARER_CHALLENGE, bearerCredentials, matchesSecret, secretDigest } from './bearer.ts';
export { CbcRun, encryptResource, encryptsStream, ivAttribute, MEDIA_ENCRYPTION_DEFAULTS, MediaKeyError, StreamKeys } from './media-keys.ts';
export type { MediaEncryptionConfig, MediaKey } from './media-keys.ts';
export { checkPlaybackAccessConfig, PLAYBACK_AUTH_PATH, PlaybackGuard, PLAYBACK_ACCESS_DEFAULTS, type PlaybackAccessConfig } from './playback-guard.ts';
export { serveTokenApi, TOKEN_API_PATH } from './token-api.ts';
export { PlaybackAccessError } from './playback-errors.ts';
