// Ingest.admit: sessions of paths that negotiate on their own (RTMP) share the browser path's names, limits and counts.
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
  close(reason: PublishEndReason, detail?: string): void {
    if (this.#closed) return;
    this.#closed = true;
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

  it('refuses a bad name, a live name and one over MAX_STREAMS; an ended session frees its name; a protocol error counts as dropped', () => {
    const ingest = new Ingest({ ...INGEST_DEFAULTS, maxStreams: 2 }, TIMING);
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
});
