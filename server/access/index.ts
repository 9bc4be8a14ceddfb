// Public surface of the access stage: publish keys, playback tokens, geo rules, media keys, checked at origin and edge.
export { checkPlaybackAccessConfig, PLAYBACK_AUTH_PATH, PlaybackGuard, PLAYBACK_ACCESS_DEFAULTS, type PlaybackAccessConfig } from './playback-guard.ts';
export { serveTokenApi, TOKEN_API_PATH } from './token-api.ts';
export { PlaybackAccessError } from './playback-errors.ts';
