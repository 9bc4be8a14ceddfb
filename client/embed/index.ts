// The embed stage's public surface: importing it defines <swarmcast-player> (once) and exports the element and its types.
// The player's typing of hls.js's light build, for a program that imports this module from outside the repo.
/// <reference path="../player/hls-light.d.ts" />
import { SwarmcastPlayerElement } from './element.ts';

export { SwarmcastPlayerElement };
export type { SwarmcastPlayerElementEventMap, SwarmcastPlayerEvents } from './element.ts';
export type { LatencyMode, PlayerState, PlayerStats, Quality, StateReason } from '../player/index.ts';

if (!customElements.get('swarmcast-player')) customElements.define('swarmcast-player', SwarmcastPlayerElement);
