// Drives one SwarmcastPlayer from the query string so tests can observe it through window.harness.
import { SwarmcastPlayer, isLatencyMode } from '../index.ts';
import type { PlayerStats, StateReason } from '../index.ts';

declare global {
  interface Window {
    harness: { stats(): PlayerStats; reason(): StateReason; errors: string[] };
  }
}

const params = new URLSearchParams(location.search);
const video = document.querySelector<HTMLVideoElement>('#video');
if (!video) throw new Error('harness.html has no #video');
const latency = params.get('latency') ?? 'low';
const player = new SwarmcastPlayer(video, { latencyMode: isLatencyMode(latency) ? latency : 'low' });
const errors: string[] = [];
player.on('state', (state) => {
  document.body.dataset['state'] = state;
});
player.on('error', (error) => errors.push(`${error.code}: ${error.message}`));
window.harness = { stats: () => player.stats(), reason: () => player.reason, errors };
player.load(params.get('src') ?? undefined);
