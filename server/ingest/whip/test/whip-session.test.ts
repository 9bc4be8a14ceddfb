import { afterEach, describe, expect, it } from 'vitest';
import { PeerConnection, Video, type Track } from 'node-datachannel';
import { INGEST_DEFAULTS } from '../../config.ts';
import { Ingest, type PublishAnswer } from '../../ingest.ts';
import type { PublishedStream } from '../../published-stream.ts';
import { rtpBytes } from '../../rtp/test/packets.ts';
import { publishWhip } from '../whip-publish.ts';

const SENDER_SSRC = 0x1234;
/** Offers made in all (as e2e/support/datachannel-peer.ts): libdatachannel now and then refuses a good answer as the offerer. */
const MAX_OFFERS = 5;
let sender: PeerConnection | undefined;
let ingest: Ingest | undefined;

afterEach(() => {
  sender?.close();
  ingest?.close();
});

/** A node-datachannel peer with an H.264 track that sends raw RTP: offers, publishes over WHIP, resolves once the track is open. */
async function connectRtpSender(ingest: Ingest, name: string): Promise<{ track: Track; answer: PublishAnswer }> {
  for (let attempt = 1; ; attempt++) {
    const pc = new PeerConnection('test-sender', { iceServers: [], bindAddress: '127.0.0.1' });
    sender = pc;
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
      return { track: await opened, answer };
    } catch (err) {
      // The fault is the local offerer's ("Got a remote candidate without ICE transport"): release and offer again.
      pc.close();
      ingest.stop(name, answer.sessionId);
      if (attempt >= MAX_OFFERS || !/without ICE transport/.test(String(err))) throw err;
      console.warn(`[whip-session test] ${String(err)}; offering again (${attempt + 1} of ${MAX_OFFERS})`);
    }
  }
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
});
