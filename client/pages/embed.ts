// The iframe page: one <swarmcast-player> filling the frame, its stream from /embed/NAME or ?stream=, the rest from the query.
import '../embed/index.ts';

/** Query parameters passed on to the element as attributes of the same name. */
const PASSED = ['stream', 'server', 'edges', 'token', 'autoplay', 'muted', 'latency', 'abr', 'controls', 'poster'];

const params = new URLSearchParams(location.search);
const player = document.createElement('swarmcast-player');
for (const name of PASSED) {
  const value = params.get(name);
  if (value !== null) player.setAttribute(name, value);
}
const fromPath = /^\/embed\/([^/]+)\/?$/.exec(location.pathname)?.[1];
if (fromPath) player.setAttribute('stream', decodeURIComponent(fromPath));
const stream = player.getAttribute('stream');
if (stream) document.title = `${stream} · Swarmcast player`;
document.querySelector('main')!.append(player);
