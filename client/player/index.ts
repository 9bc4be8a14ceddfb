// The player stage's public surface: what pages and the embed element use.
export { SwarmcastPlayer } from './player.ts';
export type { PlayerEvents } from './player.ts';
export { CatchUpController, DEFAULT_CATCH_UP_CONFIG } from './catch-up.ts';
export type { CatchUpConfig, CatchUpDecision, LatencySample } from './catch-up.ts';
export { DEFAULT_PLAYER_CONFIG, LATENCY_MODES, hlsConfigFor, isLatencyMode } from './config.ts';
export type { LatencyMode, PlayerConfig, TimeoutPolicy } from './config.ts';
export { PlayerError } from './errors.ts';
export type { PlayerErrorCode } from './errors.ts';
export { playbackUrl } from './url.ts';
export type { PlayerState, PlayerStats, StartupTimeline, StateReason } from './stats.ts';
export { EdgeSet } from './edge-set.ts';
