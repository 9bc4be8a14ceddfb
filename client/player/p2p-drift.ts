// `p2p` mode's drift back to its target behind live: a viewer who joined before the playlist listed that much media
// started nearer the live edge, ahead of its swarm; it plays slower until it is back at the target.

/** How a `p2p`-mode player ahead of its target (less far behind the live edge than hls.js's target latency) drifts back to it. */
export interface DriftBackConfig {
  /** The playback rate while drifting back: slow enough to pass unnoticed (browsers keep the audio's pitch). */
  rate: number;
  /** Start drifting when the playhead is this far ahead of the target, s. */
  startAheadS: number;
  /** Stop once it is within this of the target, s (hysteresis). */
  settleAheadS: number;
  /** How often the distance is measured, ms. */
  intervalMs: number;
}

/**
 * The playback rate for a playhead `aheadS` seconds ahead of its target (negative: behind it, null: no target yet), given
 * the rate it plays at now. Only slows down: behind the target is hls.js's business (it jumps forward past
 * `liveMaxLatencyDuration`), and a few seconds behind costs nothing but latency.
 */
export function driftBackRate(aheadS: number | null, currentRate: number, config: DriftBackConfig): number {
  if (aheadS === null) return 1;
  const drifting = currentRate < 1;
  return aheadS > (drifting ? config.settleAheadS : config.startAheadS) ? config.rate : 1;
}
