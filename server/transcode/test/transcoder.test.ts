// The Transcoder as the server wires it (real Ingest, ReconnectGrace, Origin): what happens to a stream whose publisher
// asked for a ladder that cannot be parsed.
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../shared/events.ts';
import type { ChunkMessage, WireMessage } from '../../../shared/protocol/index.ts';
import { Ingest, INGEST_DEFAULTS, type PublishedStreamEvents, type PublishEndReason } from '../../ingest/index.ts';
import type { IngestSession } from '../../ingest/published-stream.ts';
import { Origin } from '../../origin/index.ts';
import { renderMediaPlaylist } from '../../origin/playlist/render-media.ts';
import { packageIngest, ReconnectGrace } from '../../packager/index.ts';
import { parseLadder } from '../ladder.ts';
import { Transcoder, TRANSCODE_DEFAULTS } from '../transcoder.ts';

const PART_TARGET_MS = 200;
const SEGMENT_TARGET_MS = 2000;
const AVCC = Uint8Array.of(1, 0x42, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0, 0x1f, 1, 0, 4, 0x68, 0xce, 0x3c, 0x80);

/** A field encoder's session as the ingest admits it. */
class FieldSession extends TypedEmitter<PublishedStreamEvents> implements IngestSession {
  readonly stats = { bytesReceived: 0 };
  failures: string[] = [];
  #ended = false;
  constructor(
    readonly streamName: string,
    readonly id: string,
    readonly transcode?: string,
  ) {
    super();
  }
  fail(detail: string): void {
    this.failures.push(detail);
    this.close('protocol-error', detail);
  }
  close(reason: PublishEndReason, detail?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.emit('end', reason, detail);
    this.removeAllListeners();
  }
  publish(messages: WireMessage[]): void {
    for (const message of messages) if (message.type !== 'end') this.emit('message', message);
  }
}

/** `seconds` of one 30 fps video rendition, a keyframe every 2 s. */
function media(seconds: number): WireMessage[] {
  const messages: WireMessage[] = [
    { type: 'clock', timestampUs: 0, wallClockMs: 1_700_000_000_000, gridOriginUs: 0 },
    { type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42001f', description: AVCC, width: 640, height: 360, framerate: 30, rendition: '360p' },
  ];
  for (let i = 0; i < seconds * 30; i++) {
    const keyframe = i % 60 === 0;
    const chunk: ChunkMessage = { type: 'chunk', trackId: 0, keyframe, timestampUs: Math.round((i * 1_000_000) / 30), durationUs: 0, data: Uint8Array.of(0, 0, 0, 2, keyframe ? 0x65 : 0x41, i & 0xff) };
    messages.push(chunk);
  }
  return messages;
}

describe('Transcoder', () => {
  it('fails a session whose ladder cannot be parsed without packaging it: the name can be published again and plays', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS }, { partTargetMs: PART_TARGET_MS, segmentTargetMs: SEGMENT_TARGET_MS });
    const grace = new ReconnectGrace({ graceMs: 60_000, partTargetUs: PART_TARGET_MS * 1000, segmentTargetUs: SEGMENT_TARGET_MS * 1000 });
    const origin = new Origin({ partTargetMs: PART_TARGET_MS, segmentTargetMs: SEGMENT_TARGET_MS, keepSegments: 0 });
    const transcoder = new Transcoder({ ...TRANSCODE_DEFAULTS, ladder: [] });
    packageIngest(ingest, grace, (name, packager) => origin.attach(name, packager), (published, fieldPath) => transcoder.wrap(published, fieldPath));
    try {
      const bad = new FieldSession('cam', 'bad', '480p:lots');
      ingest.admit(bad, '127.0.0.1', 'rtmp');
      expect(bad.failures).toEqual([expect.stringContaining('transcode ladder')]);
      expect(origin.has('cam')).toBe(false);
      expect(ingest.streamCount).toBe(0);

      const good = new FieldSession('cam', 'good');
      expect(() => ingest.admit(good, '127.0.0.1', 'rtmp')).not.toThrow();
      good.publish(media(5));
      expect(good.failures).toEqual([]);
      const stream = origin.get('cam')!;
      expect(stream.ended).toBe(false);
      expect(renderMediaPlaylist(stream.rendition('360p')!.snapshot())).toMatch(/#EXTINF:/);
    } finally {
      ingest.close();
      transcoder.close();
      grace.close();
      origin.close();
    }
  });

  it('forgets its streams, transcoded and refused, when it closes', () => {
    const transcoder = new Transcoder({ ...TRANSCODE_DEFAULTS, ladder: parseLadder('240p:300k'), maxStreams: 1 });
    const first = new FieldSession('one', 'a');
    const second = new FieldSession('two', 'b');
    expect(transcoder.wrap(first, 'rtmp')).not.toBe(first);
    expect(transcoder.wrap(second, 'rtmp')).toBe(second);
    expect([transcoder.status('one')?.state, transcoder.status('two')?.state]).toEqual(['starting', 'refused']);
    transcoder.close();
    transcoder.close();
    expect([transcoder.status('one'), transcoder.status('two')]).toEqual([undefined, undefined]);
    expect(transcoder.active()).toEqual([]);
    first.close('server-closing');
    second.close('server-closing');
    expect(transcoder.restartsTotal).toBe(0);
  });
});
