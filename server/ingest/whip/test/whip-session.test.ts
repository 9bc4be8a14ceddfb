import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { PeerConnection, Video, type Track } from 'node-datachannel';
import { pollUntil } from '../../../../e2e/support/poll.ts';
import { INGEST_DEFAULTS } from '../../config.ts';
import { IngestError } from '../../errors.ts';
import { Ingest, type PublishAnswer } from '../../ingest.ts';
import type { PublishedStream } from '../../published-stream.ts';
import { rtpBytes } from '../../rtp/test/packets.ts';
import { publishWhip } from '../whip-publish.ts';

const SENDER_SSRC = 0x1234;
/** Offers made in all (as e2e/support/datachannel-peer.ts): libdatachannel now and then refuses a good answer as the offerer. */
const MAX_OFFERS = 5;
const senders: PeerConnection[] = [];
let ingest: Ingest | undefined;

afterEach(() => {
  for (const pc of senders.splice(0)) pc.close();
  ingest?.close();
});

/** A node-datachannel peer with an H.264 track that sends raw RTP: offers, publishes over WHIP, resolves once the track is open. */
async function connectRtpSender(ingest: Ingest, name: string): Promise<{ pc: PeerConnection; track: Track; answer: PublishAnswer; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const pc = new PeerConnection('test-sender', { iceServers: [], bindAddress: '127.0.0.1' });
    senders.push(pc);
    const video = new Video('0', 'SendOnly');
    video.addH264Codec(96);
    video.addSSRC(SENDER_SSRC, 'test');
    const track = pc.addTrack(video);
    const gathered = new Promise<void>((done) => pc.onGatheringStateChange((state) => state === 'complete' && done()));
    pc.setLocalDescription();
    await gathered;
    const answer = await publishWhip(ingest, name, pc.localDescription()!.sdp, '127.0.0.1');
    try {
      const opened = new Promise<Track>((done) => track.onOpen(() => done(track)));
      pc.setRemoteDescription(answer.answerSdp, 'answer');
      const port = Number(/a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(answer.answerSdp)?.[1]);
      return { pc, track: await opened, answer, port };
    } catch (err) {
      // The fault is the local offerer's ("Got a remote candidate without ICE transport"): release and offer again.
      pc.close();
      ingest.stop(name, answer.sessionId);
      if (attempt >= MAX_OFFERS || !/without ICE transport/.test(String(err))) throw err;
      console.warn(`[whip-session test] ${String(err)}; offering again (${attempt + 1} of ${MAX_OFFERS})`);
    }
  }
}

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
    const { track, answer } = await connectRtpSender(ingest, 'garbage');
    expect(answer.sessionId).toMatch(/^[0-9a-f]{16}$/);
    expect(answer.answerSdp).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    expect(answer.answerSdp).toMatch(/a=recvonly/);
    const ended = new Promise<[string, string | undefined]>((done) => stream!.on('end', (reason, detail) => done([reason, detail])));
    // An MTAP16 packet (NAL type 26), which packetization-mode 1 does not allow.
    track.sendMessageBinary(Buffer.from(rtpBytes(1, 0, Uint8Array.of(26, 0, 0, 0), { payloadType: 96, ssrc: SENDER_SSRC, marker: true })));
    const [reason, detail] = await ended;
    expect(reason).toBe('protocol-error');
    expect(detail).toMatch(/payload type 26/);
    expect(ingest.streamCount).toBe(0);
  }, 30_000);

  it('a second publish for a live stream takes it over: it is answered, and the first session ends with its peer connection closed', async () => {
    ingest = new Ingest(INGEST_DEFAULTS, { partTargetMs: 200, segmentTargetMs: 2000 });
    const streams: PublishedStream[] = [];
    ingest.on('stream', (published) => streams.push(published));
    const first = await connectRtpSender(ingest, 'cam');
    expect(await udpPortFree(first.port)).toBe(false);
    const ended = new Promise<[string, string | undefined]>((done) => streams[0]!.on('end', (reason, detail) => done([reason, detail])));
    const second = await connectRtpSender(ingest, 'cam');
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

  it('with PUBLISH_TAKEOVER=off, refuses a second publish for a live stream (409) and the first goes on', async () => {
    ingest = new Ingest({ ...INGEST_DEFAULTS, publishTakeover: 'off' }, { partTargetMs: 200, segmentTargetMs: 2000 });
    const streams: PublishedStream[] = [];
    ingest.on('stream', (published) => streams.push(published));
    const first = await connectRtpSender(ingest, 'cam');
    const err = await connectRtpSender(ingest, 'cam').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect([(err as IngestError).code, (err as IngestError).status]).toEqual(['stream-busy', 409]);
    expect([streams.length, ingest.streamCount, first.pc.state()]).toEqual([1, 1, 'connected']);
  }, 30_000);
});
