// The Ingest with real node-datachannel publishers over 127.0.0.1: admission, limits, timeouts, ends and close races.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectPeer, offerPeer, type OfferingPeer, type PublisherPeer } from '../../../e2e/support/datachannel-peer.ts';
import { setUnhandledErrorReporter, type UnhandledErrorReporter } from '../../../shared/events.ts';
import { encodeMessage, type WireMessage } from '../../../shared/protocol/index.ts';
import { logUnhandledError } from '../../unhandled-error.ts';
import { Ingest, INGEST_DEFAULTS, IngestError, type IngestConfig, type PublishedStream, type PublishEndReason } from '../index.ts';
import { PushedStream } from '../pushed-stream.ts';

const TIMING = { partTargetMs: 200, segmentTargetMs: 1000 };
const CLIENT = '127.0.0.1';

const cleanup: (() => void)[] = [];
let logLines: string[];

beforeEach(() => {
  logLines = [];
  // The server's log goes to stderr; tests read the lines the ingest promises (publish.dropped, …).
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    logLines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  cleanup.push(() => write.mockRestore());
});

afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

interface Recorded {
  messages: WireMessage[];
  ended: Promise<{ reason: PublishEndReason; detail: string | undefined }>;
}

function record(stream: PublishedStream): Recorded {
  const messages: WireMessage[] = [];
  stream.on('message', (message) => messages.push(message));
  const ended = new Promise<{ reason: PublishEndReason; detail: string | undefined }>((done) => {
    stream.on('end', (reason, detail) => done({ reason, detail }));
  });
  return { messages, ended };
}

function startIngest(config: Partial<IngestConfig> = {}): { ingest: Ingest; streams: Map<string, PublishedStream> } {
  const ingest = new Ingest({ ...INGEST_DEFAULTS, ...config }, TIMING);
  const streams = new Map<string, PublishedStream>();
  ingest.on('stream', (stream) => streams.set(stream.streamName, stream));
  cleanup.push(() => ingest.close());
  return { ingest, streams };
}

async function offer(name: string): Promise<OfferingPeer> {
  const peer = await offerPeer(`test-publisher-${name}`);
  cleanup.push(() => peer.close());
  return peer;
}

interface Live {
  peer: PublisherPeer;
  stream: PublishedStream;
  recorded: Recorded;
  sessionId: string;
}

/** Publishes `name` from a fresh Node peer and waits for its data channel to open. */
async function goLive(ingest: Ingest, streams: Map<string, PublishedStream>, name: string): Promise<Live> {
  let live: Omit<Live, 'peer'> | undefined;
  const peer = await connectPeer(`test-publisher-${name}`, async (offerSdp) => {
    const { sessionId, answerSdp } = await ingest.publish(name, offerSdp, CLIENT);
    const stream = streams.get(name)!;
    const recorded = record(stream);
    live = { stream, recorded, sessionId };
    return {
      answerSdp,
      release: async () => {
        ingest.stop(name, sessionId);
        await recorded.ended;
      },
    };
  });
  cleanup.push(() => peer.close());
  return { peer, ...live! };
}

async function refusal(promise: Promise<unknown>): Promise<IngestError> {
  const err = await promise.then(
    () => new Error('expected the publish to be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IngestError);
  return err as IngestError;
}

const clock = (i: number): WireMessage => ({ type: 'clock', timestampUs: i, wallClockMs: 1_700_000_000_000 + i });

function logLine(pattern: RegExp): string | undefined {
  return logLines.find((line) => pattern.test(line));
}

describe('Ingest admission', () => {
  it('refuses a bad stream name with a 400 before touching the offer', async () => {
    const { ingest } = startIngest();
    const err = await refusal(ingest.publish('Bad Name!', 'not even sdp', CLIENT));
    expect([err.code, err.status, err.streamName]).toEqual(['bad-name', 400, 'Bad Name!']);
    expect(ingest.streamCount).toBe(0);
  });

  it('refuses an offer larger than maxOfferBytes with a 413', async () => {
    const { ingest } = startIngest({ maxOfferBytes: 1024 });
    const err = await refusal(ingest.publish('big', 'v=0\n' + 'a=x\n'.repeat(400), CLIENT));
    expect([err.code, err.status]).toEqual(['offer-too-large', 413]);
  });

  it('refuses malformed SDP and offers the WebRTC engine rejects with a 400, leaving the name free', async () => {
    const { ingest, streams } = startIngest();
    const malformed = await refusal(ingest.publish('cam', 'v=0\nnot sdp at all', CLIENT));
    expect([malformed.code, malformed.status]).toEqual(['bad-offer', 400]);
    const real = await offer('cam');
    const badFingerprint = real.offerSdp.replace(/a=fingerprint:\S+ \S+/, 'a=fingerprint:sha-256 00:11');
    const refused = await refusal(ingest.publish('cam', badFingerprint, CLIENT));
    expect([refused.code, refused.status]).toEqual(['bad-offer', 400]);
    expect(refused.message).toMatch(/engine refused/);
    expect(ingest.streamCount).toBe(0);
    expect(streams.size).toBe(0);
    expect(ingest.publishesTotal).toBe(0);
    await goLive(ingest, streams, 'cam');
    expect(ingest.streamCount).toBe(1);
  });

  it('refuses a second publisher on a live name with a 409', async () => {
    const { ingest, streams } = startIngest();
    await goLive(ingest, streams, 'busy');
    const second = await offer('busy');
    const err = await refusal(ingest.publish('busy', second.offerSdp, CLIENT));
    expect([err.code, err.status]).toEqual(['stream-busy', 409]);
    expect(ingest.streamCount).toBe(1);
  });

  it('keeps a browser broadcaster\'s live stream from a field encoder, and a field encoder\'s from a browser (409 both ways)', async () => {
    const { ingest, streams } = startIngest();
    const browser = await goLive(ingest, streams, 'show');
    const encoderEnds: PublishEndReason[] = [];
    const encoder = new PushedStream('rtmp', 'show', (reason) => encoderEnds.push(reason));
    let err: unknown;
    try {
      ingest.admit(encoder, CLIENT, 'rtmp');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'stream-busy', status: 409 });
    // Refused, not ended: the encoder's path closes its own connection.
    expect(encoderEnds).toEqual([]);
    expect(streams.get('show')).toBe(browser.stream);
    expect(logLine(/publish\.taken-over/)).toBeUndefined();

    const field = new PushedStream('srt', 'field', () => undefined);
    ingest.admit(field, CLIENT, 'srt');
    const tab = await offer('field');
    expect([(await refusal(ingest.publish('field', tab.offerSdp, CLIENT))).code, field.closed]).toEqual(['stream-busy', false]);
    // Naming the field session as its own lost one does not let a browser take it either.
    const again = await offer('field');
    expect((await refusal(ingest.publish('field', again.offerSdp, CLIENT, field.id))).code).toBe('stream-busy');
    expect(field.closed).toBe(false);
    browser.peer.send(clock(7));
    await vi.waitFor(() => expect(browser.recorded.messages).toEqual([clock(7)]));
  });

  it('refuses publishers beyond maxStreams with a 503', async () => {
    const { ingest, streams } = startIngest({ maxStreams: 1 });
    await goLive(ingest, streams, 'one');
    const two = await offer('two');
    const err = await refusal(ingest.publish('two', two.offerSdp, CLIENT));
    expect([err.code, err.status]).toEqual(['too-many-streams', 503]);
  });

  it('refuses an address beyond maxPublishesPerMinute with a 429, and only that address', async () => {
    const { ingest } = startIngest({ maxPublishesPerMinute: 2 });
    for (const name of ['r1', 'r2']) await ingest.publish(name, (await offer(name)).offerSdp, CLIENT);
    const err = await refusal(ingest.publish('r3', (await offer('r3')).offerSdp, CLIENT));
    expect([err.code, err.status]).toEqual(['rate-limited', 429]);
    await ingest.publish('r4', (await offer('r4')).offerSdp, '127.0.0.2');
    expect(ingest.streamCount).toBe(3);
  });
});

describe('Ingest sessions', () => {
  it('hands out the wire messages in order, and a publisher’s end message ends the stream as publisher-ended', async () => {
    const { ingest, streams } = startIngest();
    const { peer, recorded, sessionId } = await goLive(ingest, streams, 'live');
    expect(ingest.publishesTotal).toBe(1);
    for (let i = 0; i < 5; i++) peer.send(clock(i));
    peer.send({ type: 'end' });
    expect(await recorded.ended).toEqual({ reason: 'publisher-ended', detail: undefined });
    expect(recorded.messages).toEqual([0, 1, 2, 3, 4].map(clock));
    expect(ingest.streamCount).toBe(0);
    expect(ingest.droppedTotal).toBe(0);
    expect(logLine(new RegExp(`publish\\.ended stream=live session=${sessionId} reason=publisher-ended`))).toBeDefined();
    await peer.closed;
  });

  it('counts the bytes received from live publishers', async () => {
    const { ingest, streams } = startIngest();
    const { peer, recorded } = await goLive(ingest, streams, 'bytes');
    for (let i = 0; i < 3; i++) peer.send(clock(i));
    await vi.waitFor(() => expect(recorded.messages).toHaveLength(3));
    const sent = [0, 1, 2].reduce((sum, i) => sum + encodeMessage(clock(i)).byteLength, 0);
    expect(ingest.bytesReceived).toBe(sent);
  });

  it('drops a publisher whose data channel never opens after connectTimeoutMs', async () => {
    const { ingest, streams } = startIngest({ connectTimeoutMs: 300 });
    const offering = await offer('silent');
    await ingest.publish('silent', offering.offerSdp, CLIENT);
    const recorded = record(streams.get('silent')!);
    const { reason, detail } = await recorded.ended;
    expect(reason).toBe('connect-timeout');
    expect(detail).toMatch(/no data channel within 300 ms/);
    expect(ingest.streamCount).toBe(0);
    expect(ingest.droppedTotal).toBe(1);
    expect(logLine(/WARN publish\.dropped stream=silent .*reason=connect-timeout/)).toBeDefined();
  });

  it('drops a connected publisher that sends nothing for idleTimeoutMs, and closes its channel', async () => {
    const { ingest, streams } = startIngest({ idleTimeoutMs: 400 });
    const { peer, recorded } = await goLive(ingest, streams, 'idle');
    const { reason } = await recorded.ended;
    expect(reason).toBe('idle-timeout');
    await peer.closed;
    expect(ingest.droppedTotal).toBe(1);
    expect(logLine(/WARN publish\.dropped stream=idle .*reason=idle-timeout/)).toBeDefined();
  });

  it('ends the stream as disconnected when the publisher goes away, and frees the name', async () => {
    const { ingest, streams } = startIngest();
    const first = await goLive(ingest, streams, 'gone');
    first.peer.close();
    expect((await first.recorded.ended).reason).toBe('disconnected');
    expect(ingest.droppedTotal).toBe(0);
    expect(logLine(/INFO publish\.ended stream=gone .*reason=disconnected/)).toBeDefined();
    const second = await goLive(ingest, streams, 'gone');
    second.peer.send(clock(1));
    await vi.waitFor(() => expect(second.recorded.messages).toEqual([clock(1)]));
  });

  it('lets a publisher that reconnects replace its own lost session (ended as a drop), and no one else\'s', async () => {
    const { ingest, streams } = startIngest();
    const first = await goLive(ingest, streams, 'again');
    // Another session id, or none: the name is busy as before.
    const stranger = await offer('again');
    expect((await refusal(ingest.publish('again', stranger.offerSdp, CLIENT, 'not-the-session'))).code).toBe('stream-busy');
    expect(ingest.streamCount).toBe(1);
    // Its own session id: that session ends as disconnected (the grace period's kind of end), the new one goes live.
    const second = await offer('again');
    const { sessionId } = await ingest.publish('again', second.offerSdp, CLIENT, first.sessionId);
    expect(await first.recorded.ended).toEqual({ reason: 'disconnected', detail: 'its publisher reconnected' });
    expect(sessionId).not.toBe(first.sessionId);
    expect(ingest.streamCount).toBe(1);
    expect(streams.get('again')).not.toBe(first.stream);
  });

  it('a DELETE of the lost session while its replacement is being answered ends the replacement and abandons the stream waiting for it', async () => {
    const { ingest, streams } = startIngest({ publishGraceMs: 60_000 });
    const abandoned: string[] = [];
    ingest.on('abandoned', (name) => abandoned.push(name));
    const first = await goLive(ingest, streams, 'show');
    const back = await offer('show');
    // The publisher reconnects (its lost session ends as a drop) and presses Stop before the answer is back.
    const answering = ingest.publish('show', back.offerSdp, CLIENT, first.sessionId);
    ingest.stop('show', first.sessionId);
    expect(abandoned).toEqual(['show']);
    await refusal(answering);
    expect(await first.recorded.ended).toEqual({ reason: 'disconnected', detail: 'its publisher reconnected' });
    expect([ingest.streamCount, ingest.publishesTotal, streams.get('show')]).toEqual([0, 1, first.stream]);
    expect(() => ingest.stop('show', first.sessionId)).toThrow(IngestError);
  });

  it('keeps the lost session stoppable when its replacement\'s answer fails', async () => {
    const { ingest, streams } = startIngest({ publishGraceMs: 60_000 });
    const abandoned: string[] = [];
    ingest.on('abandoned', (name) => abandoned.push(name));
    const first = await goLive(ingest, streams, 'show');
    const refused = (await offer('show')).offerSdp.replace(/a=fingerprint:\S+ \S+/, 'a=fingerprint:sha-256 00:11');
    expect((await refusal(ingest.publish('show', refused, CLIENT, first.sessionId))).code).toBe('bad-offer');
    expect(ingest.streamCount).toBe(0);
    ingest.stop('show', first.sessionId);
    expect(abandoned).toEqual(['show']);
  });

  it('stops a session on stop() with its id, and refuses other ids with a 404 without touching the session', async () => {
    const { ingest, streams } = startIngest();
    const { peer, recorded, sessionId } = await goLive(ingest, streams, 'stopme');
    const wrong = (() => {
      try {
        ingest.stop('stopme', 'not-the-session');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(wrong).toBeInstanceOf(IngestError);
    expect([(wrong as IngestError).code, (wrong as IngestError).status]).toEqual(['not-found', 404]);
    peer.send(clock(1));
    await vi.waitFor(() => expect(recorded.messages).toEqual([clock(1)]));
    ingest.stop('stopme', sessionId);
    expect((await recorded.ended).reason).toBe('stopped');
    expect(() => ingest.stop('stopme', sessionId)).toThrow(IngestError);
    await peer.closed;
  });

  it('ends the session as protocol-error with the consumer’s reason when the consumer fails it', async () => {
    const { ingest, streams } = startIngest();
    const { peer, stream, recorded } = await goLive(ingest, streams, 'refused');
    stream.on('message', (message) => {
      if (message.type === 'clock') stream.fail('no-clock: a chunk came first');
    });
    peer.send(clock(1));
    expect(await recorded.ended).toEqual({ reason: 'protocol-error', detail: 'no-clock: a chunk came first' });
    expect(ingest.droppedTotal).toBe(1);
    expect(logLine(/WARN publish\.dropped stream=refused .*reason=protocol-error detail="no-clock: a chunk came first"/)).toBeDefined();
    await peer.closed;
  });

  it('drops only the publisher that breaks the protocol; another stream keeps delivering', async () => {
    const { ingest, streams } = startIngest();
    const good = await goLive(ingest, streams, 'good');
    const bad = await goLive(ingest, streams, 'bad');
    good.peer.send(clock(0));
    bad.peer.send(clock(0));
    await vi.waitFor(() => expect(bad.recorded.messages).toHaveLength(1));
    bad.peer.sendFrame(Uint8Array.from([99, 0, 0, 0]));
    const { reason, detail } = await bad.recorded.ended;
    expect(reason).toBe('protocol-error');
    expect(detail).toBeTruthy();
    await bad.peer.closed;
    expect(logLine(/WARN publish\.dropped stream=bad .*reason=protocol-error detail=/)).toBeDefined();
    for (let i = 1; i <= 3; i++) good.peer.send(clock(i));
    await vi.waitFor(() => expect(good.recorded.messages).toEqual([0, 1, 2, 3].map(clock)));
    expect(ingest.streamCount).toBe(1);
    expect(ingest.droppedTotal).toBe(1);
  });

  it('logs a consumer listener’s throw with its stream and keeps that stream and the others delivering', async () => {
    const previous: UnhandledErrorReporter = setUnhandledErrorReporter(logUnhandledError);
    cleanup.push(() => setUnhandledErrorReporter(previous));
    const { ingest, streams } = startIngest();
    const faulty = await goLive(ingest, streams, 'faulty');
    const other = await goLive(ingest, streams, 'other');
    faulty.stream.on('message', () => {
      throw new Error('consumer bug');
    });
    faulty.peer.send(clock(1));
    other.peer.send(clock(1));
    await vi.waitFor(() => expect(logLine(/ERROR event\.unhandled-error .*stream=faulty .*reason="consumer bug"/)).toBeDefined());
    faulty.peer.send(clock(2));
    other.peer.send(clock(2));
    await vi.waitFor(() => {
      expect(faulty.recorded.messages).toEqual([clock(1), clock(2)]);
      expect(other.recorded.messages).toEqual([clock(1), clock(2)]);
    });
    expect(ingest.streamCount).toBe(2);
  });
});

describe('Ingest close races', () => {
  it('ends every live session as server-closing on close(), once, and close() twice is harmless', async () => {
    const { ingest, streams } = startIngest();
    const a = await goLive(ingest, streams, 'a');
    const b = await goLive(ingest, streams, 'b');
    let ends = 0;
    a.stream.on('end', () => ends++);
    ingest.close();
    ingest.close();
    expect((await a.recorded.ended).reason).toBe('server-closing');
    expect((await b.recorded.ended).reason).toBe('server-closing');
    expect(ends).toBe(1);
    expect(ingest.streamCount).toBe(0);
    await Promise.all([a.peer.closed, b.peer.closed]);
  });

  it('refuses a publish still negotiating when the server closes, with a 503, and hands out no stream', async () => {
    const { ingest, streams } = startIngest();
    const offering = await offer('late');
    const pending = ingest.publish('late', offering.offerSdp, CLIENT);
    ingest.close();
    const err = await refusal(pending);
    expect([err.code, err.status]).toEqual(['too-many-streams', 503]);
    expect(err.message).toMatch(/shutting down/);
    expect(streams.size).toBe(0);
    expect(ingest.streamCount).toBe(0);
    expect(ingest.publishesTotal).toBe(0);
  });
});
