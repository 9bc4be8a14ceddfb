import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../e2e/support/poll.ts';
import { INGEST_DEFAULTS } from '../../config.ts';
import { IngestError } from '../../errors.ts';
import { Ingest } from '../../ingest.ts';
import type { PublishedStream } from '../../published-stream.ts';
import { nal, rtpBytes } from '../../rtp/test/packets.ts';
import { answerRtpSender, closeRtpSenders, connectRtpSender, RTP_PAYLOAD_TYPE } from './rtp-sender.ts';

const SENDER = { ssrc: 0x1234 };
let ingest: Ingest | undefined;

afterEach(() => {
  closeRtpSenders();
  ingest?.close();
});

/** Whether a UDP port on 127.0.0.1 is free: binding it fails while a socket (a session's ICE agent) holds it. */
function udpPortFree(port: number): Promise<boolean> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => {
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

describe('WhipSession', () => {
  it('ends as a protocol error, and the process lives on, when the publisher sends RTP it cannot depacketize', async () => {
    ingest = new Ingest(INGEST_DEFAULTS, { partTargetMs: 200, segmentTargetMs: 2000 });
    let stream: PublishedStream | undefined;
    ingest.on('stream', (published) => (stream = published));
    const { track, answer } = await connectRtpSender(ingest, 'garbage', SENDER);
    expect(answer.sessionId).toMatch(/^[0-9a-f]{16}$/);
    expect(answer.answerSdp).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    expect(answer.answerSdp).toMatch(/a=recvonly/);
    const ended = new Promise<[string, string | undefined]>((done) => stream!.on('end', (reason, detail) => done([reason, detail])));
    // An MTAP16 packet (NAL type 26), which packetization-mode 1 does not allow.
    track.sendMessageBinary(Buffer.from(rtpBytes(1, 0, Uint8Array.of(26, 0, 0, 0), { payloadType: RTP_PAYLOAD_TYPE, ssrc: SENDER.ssrc, marker: true })));
    const [reason, detail] = await ended;
    expect(reason).toBe('protocol-error');
    expect(detail).toMatch(/payload type 26/);
    expect(ingest.streamCount).toBe(0);
  }, 30_000);

  it('a second publish for a live stream takes it over: it is answered, and the first session ends with its peer connection closed', async () => {
    ingest = new Ingest(INGEST_DEFAULTS, { partTargetMs: 200, segmentTargetMs: 2000 });
    const streams: PublishedStream[] = [];
    ingest.on('stream', (published) => streams.push(published));
    const first = await connectRtpSender(ingest, 'cam', SENDER);
    expect(await udpPortFree(first.port)).toBe(false);
    const ended = new Promise<[string, string | undefined]>((done) => streams[0]!.on('end', (reason, detail) => done([reason, detail])));
    const second = await connectRtpSender(ingest, 'cam', SENDER);
    expect(second.answer.sessionId).not.toBe(first.answer.sessionId);
    expect(await ended).toEqual(['disconnected', 'replaced by a new publisher']);
    expect([streams.length, ingest.streamCount]).toEqual([2, 1]);
    // The server closed the first session's peer connection: its ICE port is free (its publisher would notice only
    // when ICE consent fails, about 30 s later), while the second's is held.
    await pollUntil(() => udpPortFree(first.port), Boolean, 5000, 'the first session\'s ICE port freed');
    expect(await udpPortFree(second.port)).toBe(false);
    expect(second.pc.state()).toBe('connected');
    // The stream is the second's now: its session id stops it, the first's no longer does.
    expect(() => ingest!.stop('cam', first.answer.sessionId)).toThrow(IngestError);
    ingest.stop('cam', second.answer.sessionId);
    expect(ingest.streamCount).toBe(0);
  }, 30_000);

  it('a second publish whose publisher never connects takes nothing over: the live stream goes on, and the answered session times out', async () => {
    ingest = new Ingest({ ...INGEST_DEFAULTS, connectTimeoutMs: 1500 }, { partTargetMs: 200, segmentTargetMs: 2000 });
    const streams: PublishedStream[] = [];
    ingest.on('stream', (published) => streams.push(published));
    const first = await connectRtpSender(ingest, 'cam', SENDER);
    const firstEnds: string[] = [];
    first.stream.on('end', (reason) => firstEnds.push(reason));
    // The first publisher keeps sending (non-IDR slices), so its own first-media and idle timeouts never end it.
    let sequence = 0;
    const send = (): void => {
      sequence++;
      first.track.sendMessageBinary(Buffer.from(rtpBytes(sequence, sequence * 3000, nal(1, 40), { payloadType: RTP_PAYLOAD_TYPE, ssrc: SENDER.ssrc, marker: true })));
    };
    send();
    const sending = setInterval(send, 100);
    try {
      const stranger = await answerRtpSender(ingest, 'cam', SENDER);
      expect(stranger.answer.sessionId).not.toBe(first.answer.sessionId);
      expect(await udpPortFree(stranger.port)).toBe(false);
      // Answered and never connected: the session ends at its connect timeout (its ICE port freed), having taken nothing.
      await pollUntil(() => udpPortFree(stranger.port), Boolean, 10_000, "the unconnected session's ICE port freed");
      expect([firstEnds, streams.length, ingest.streamCount, first.pc.state()]).toEqual([[], 1, 1, 'connected']);
      // Its Location no longer stops anything; the first's still does.
      expect(() => ingest!.stop('cam', stranger.answer.sessionId)).toThrow(IngestError);

      // One answered and stopped by its publisher (DELETE) before it connects ends at once, taking nothing either.
      const quitter = await answerRtpSender(ingest, 'cam', SENDER);
      ingest.stop('cam', quitter.answer.sessionId);
      await pollUntil(() => udpPortFree(quitter.port), Boolean, 5000, "the stopped session's ICE port freed");
      expect([firstEnds, ingest.streamCount]).toEqual([[], 1]);
    } finally {
      clearInterval(sending);
    }
    ingest.stop('cam', first.answer.sessionId);
    expect(firstEnds).toEqual(['stopped']);
  }, 30_000);

  it('with PUBLISH_TAKEOVER=off, refuses a second publish for a live stream (409) and the first goes on', async () => {
    ingest = new Ingest({ ...INGEST_DEFAULTS, publishTakeover: 'off' }, { partTargetMs: 200, segmentTargetMs: 2000 });
    const streams: PublishedStream[] = [];
    ingest.on('stream', (published) => streams.push(published));
    const first = await connectRtpSender(ingest, 'cam', SENDER);
    const err = await connectRtpSender(ingest, 'cam', SENDER).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect([(err as IngestError).code, (err as IngestError).status]).toEqual(['stream-busy', 409]);
    expect([streams.length, ingest.streamCount, first.pc.state()]).toEqual([1, 1, 'connected']);
  }, 30_000);
});
