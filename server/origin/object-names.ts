// Names of the objects a stream serves; the publish epoch in every name keeps a reused stream name from colliding with cached objects.
export type ObjectName =
  | { kind: 'init'; epoch: string }
  | { kind: 'segment'; epoch: string; msn: number }
  | { kind: 'part'; epoch: string; msn: number; partIndex: number };

const INIT_PATTERN = /^init-([a-z0-9]{1,16})\.mp4$/;
const MEDIA_PATTERN = /^([a-z0-9]{1,16})-(0|[1-9][0-9]{0,14})(?:\.(0|[1-9][0-9]{0,5}))?\.m4s$/;

export function initObjectName(epoch: string): string {
  return `init-${epoch}.mp4`;
}

export function segmentObjectName(epoch: string, msn: number): string {
  return `${epoch}-${msn}.m4s`;
}

export function partObjectName(epoch: string, msn: number, partIndex: number): string {
  return `${epoch}-${msn}.${partIndex}.m4s`;
}

/** Parses a media object name, or returns null for anything this origin never names. */
export function parseObjectName(name: string): ObjectName | null {
  const init = INIT_PATTERN.exec(name);
  if (init) return { kind: 'init', epoch: init[1]! };
  const media = MEDIA_PATTERN.exec(name);
  if (!media) return null;
  const epoch = media[1]!;
  const msn = Number(media[2]);
  if (media[3] === undefined) return { kind: 'segment', epoch, msn };
  return { kind: 'part', epoch, msn, partIndex: Number(media[3]) };
}
