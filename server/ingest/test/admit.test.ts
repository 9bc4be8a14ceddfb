// Ingest.admit: sessions of paths that negotiate on their own (RTMP, SRT, WHIP) share the browser path's names, limits and counts, and take over each other's streams.
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../../../shared/events.ts';
import { INGEST_DEFAULTS } from '../config.ts';
import { IngestError } from '../errors.ts';
import { Ingest } from '../ingest.ts';
import type { IngestSession, PublishEndReason, PublishedStreamEvents } from '../published-stream.ts';

/** The smallest session a path can hand the Ingest: it ends when told to. */
class Session extends TypedEmitter<PublishedStreamEvents> implements IngestSession {
  readonly stats = { bytesReceived: 0 };
  #closed = false;
  constructor(
    readonly streamName: string,
    readonly id = `id-${streamName}`,
  ) {
    super();
  }
  fail(detail: string): void {
    this.close('protocol-error', detail);
  }
  ended: [PublishEndReason, string | undefined] | undefined;
  close(reason: PublishEndReason, detail?: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ended = [reason, detail];
    this.emit('end', reason, detail);
  }
}

const TIMING = { partTargetMs: 200, segmentTargetMs: 2000 };

function codeOf(run: () => void): string | undefined {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(IngestError);
    return (err as IngestError).code;
  }
  return undefined;
}

describe('Ingest.admit', () => {
  it('hands an admitted session out as a stream and counts it', () => {
    const ingest = new Ingest(INGEST_DEFAULTS, TIMING);
    const streams: string[] = [];
    ingest.on('stream', (stream) => streams.push(stream.streamName));
    ingest.admit(new Session('cam'), '127.0.0.1', 'rtmp');
    expect(streams).toEqual(['cam']);
    expect(ingest.streamCount).toBe(1);
    expect(ingest.publishesTotal).toBe(1);
    ingest.close();
  });

  it('refuses a bad name, a live name (PUBLISH_TAKEOVER=off) and one over MAX_STREAMS; an ended session frees its name; a protocol error counts as dropped', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS, maxStreams: 2, publishTakeover: 'off' }, TIMING);
    expect(codeOf(() => ingest.admit(new Session('Bad Name'), '127.0.0.1', 'rtmp'))).toBe('bad-name');
    const first = new Session('a');
    ingest.admit(first, '127.0.0.1', 'rtmp');
    expect(codeOf(() => ingest.admit(new Session('a', 'other'), '127.0.0.1', 'rtmp'))).toBe('stream-busy');
    ingest.admit(new Session('b'), '127.0.0.1', 'rtmp');
    expect(codeOf(() => ingest.admit(new Session('c'), '127.0.0.1', 'rtmp'))).toBe('too-many-streams');
    first.fail('garbage');
    expect(ingest.droppedTotal).toBe(1);
    expect(codeOf(() => ingest.admit(new Session('a', 'again'), '127.0.0.1', 'rtmp'))).toBeUndefined();
    ingest.close();
  });

  it('counts admissions against the publish rate of the address', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS, maxPublishesPerMinute: 2 }, TIMING);
    ingest.admit(new Session('a'), '10.0.0.1', 'rtmp');
    ingest.admit(new Session('b'), '10.0.0.1', 'rtmp');
    expect(codeOf(() => ingest.admit(new Session('c'), '10.0.0.1', 'rtmp'))).toBe('rate-limited');
    expect(codeOf(() => ingest.admit(new Session('c'), '10.0.0.2', 'rtmp'))).toBeUndefined();
    ingest.close();
  });

  it('counts a vetted caller against the publish rate when it is vetted, connected or not, and not again when it is admitted', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS, maxPublishesPerMinute: 2 }, TIMING);
    // A caller vetted and never connected (a wrong SRT passphrase, a WHIP offer whose ICE never connects) used one.
    ingest.vet('a', '10.0.0.1');
    ingest.vet('b', '10.0.0.1');
    ingest.admit(new Session('b'), '10.0.0.1', 'srt', { vetted: true });
    expect(ingest.streamCount).toBe(1);
    expect(codeOf(() => ingest.vet('c', '10.0.0.1'))).toBe('rate-limited');
    expect(codeOf(() => ingest.admit(new Session('c'), '10.0.0.1', 'srt'))).toBe('rate-limited');
    expect(codeOf(() => ingest.vet('c', '10.0.0.2'))).toBeUndefined();
    ingest.close();
  });

  it('lets a field encoder take over a field encoder\'s live stream: the old session ends as a drop before the new one is handed out', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS, maxStreams: 1 }, TIMING);
    const order: string[] = [];
    ingest.on('stream', (stream) => {
      order.push(`stream ${(stream as Session).id}`);
      stream.on('end', (reason) => order.push(`end ${(stream as Session).id} ${reason}`));
    });
    const first = new Session('cam', 'first');
    ingest.admit(first, '127.0.0.1', 'srt');
    // At MAX_STREAMS: the newcomer takes the old one's place, so the limit does not refuse it.
    const second = new Session('cam', 'second');
    ingest.admit(second, '127.0.0.1', 'rtmp');
    expect(first.ended).toEqual(['disconnected', 'replaced by a new publisher']);
    expect(second.ended).toBeUndefined();
    expect(order).toEqual(['stream first', 'end first disconnected', 'stream second']);
    expect([ingest.streamCount, ingest.publishesTotal, ingest.droppedTotal]).toEqual([1, 2, 0]);
    // The taken-over session's late end does not free the newcomer's name.
    first.close('disconnected');
    expect(codeOf(() => ingest.admit(new Session('other'), '127.0.0.1', 'whip'))).toBe('too-many-streams');
    const third = new Session('cam', 'third');
    ingest.admit(third, '127.0.0.1', 'whip');
    expect(second.ended).toEqual(['disconnected', 'replaced by a new publisher']);
    ingest.close();
    expect(third.ended?.[0]).toBe('server-closing');
  });

  it('ends nothing when the newcomer is refused anyway (its address over the publish rate)', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS, maxPublishesPerMinute: 1 }, TIMING);
    const first = new Session('cam', 'first');
    ingest.admit(first, '10.0.0.1', 'srt');
    expect(codeOf(() => ingest.admit(new Session('cam', 'second'), '10.0.0.1', 'srt'))).toBe('rate-limited');
    expect(first.ended).toBeUndefined();
    expect(ingest.streamCount).toBe(1);
    ingest.close();
  });
});
