// The swarm a stream's viewers share segments in (p2p-media-loader's `swarmId`), the same whatever edge or query they use.

/** p2p-media-loader's swarm id of `stream`: one per stream, so viewers of every edge meet (the library adds the variant). */
export function swarmIdFor(stream: string): string {
  return `swarmcast:${stream}`;
}
