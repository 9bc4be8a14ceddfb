// The player stage's public surface: what pages and the embed element use.
export { SwarmcastPlayer } from './player.ts';
export type { Quality, Rung } from './player.ts';
export { LATENCY_MODES, isAbrMode, isLatencyMode, parseTargetLatencyMs } from './config.ts';
export type { AbrMode, LatencyMode } from './config.ts';
export { playbackUrl } from './url.ts';
export { emptyStartupTimeline } from './stats.ts';
export type { PlayerState, PlayerStats, StateReason } from './stats.ts';
export type { PlayerErrorCode } from './errors.ts';
