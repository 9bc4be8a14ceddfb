import { afterEach, describe, expect, it } from 'vitest';
import { PeerConnection, Video, type Track } from 'node-datachannel';
import { INGEST_DEFAULTS } from '../../config.ts';
import { Ingest } from '../../ingest.ts';
import type { PublishedStream } from '../../published-stream.ts';
import { rtpBytes } from '../../rtp/test/packets.ts';
import { publishWhip } from '../whip-publish.ts';

const SENDER_SSRC = 0x1234;
let sender: PeerConnection | undefined;
let ingest: Ingest | undefined;

afterEach(() => {
  sender?.close();
  ingest?.close();
});

/** A node-datachannel peer that sends raw RTP on an H.264 track: the offer it makes, and the track once open. */
async function rtpSender(): Promise<{ offer: string; open: (answer: string) => Promise<Track> }> {
  sender = new PeerConnection('test-sender', { iceServers: [], bindAddress: '127.0.0.1' });
  const video = new Video('0', 'SendOnly');
  video.addH264Codec(96);
  video.addSSRC(SENDER_SSRC, 'test');
  const track = sender.addTrack(video);
  const pc = sender;
  const gathered = new Promise<void>((done) => pc.onGatheringStateChange((state) => state === 'complete' && done()));
  pc.setLocalDescription();
  await gathered;
  return {
    offer: pc.localDescription()!.sdp,
    open: (answer) =>
      new Promise((done) => {
        track.onOpen(() => done(track));
        pc.setRemoteDescription(answer, 'answer');
      }),
  };
}

describe('WhipSession', () => {
  it('ends as a protocol error, and the process lives on, when the publisher sends RTP it cannot depacketize', async () => {
    ingest = new Ingest(INGEST_DEFAULTS, { partTargetMs: 200, segmentTargetMs: 2000 });
    const published = new Promise<PublishedStream>((done) => ingest!.on('stream', done));
    const { offer, open } = await rtpSender();
    const { answerSdp, sessionId } = await publishWhip(ingest, 'garbage', offer, '127.0.0.1');
    // Applied at once, as a WHIP client does: libdatachannel 0.33 as an offerer sometimes drops its ICE transport when
    // the answerer's checks arrive a few ms before the answer ("Got a remote candidate without ICE transport").
    const opened = open(answerSdp);
    expect(sessionId).toMatch(/^[0-9a-f]{16}$/);
    expect(answerSdp).toMatch(/a=candidate:.* 127\.0\.0\.1 \d+ typ host/);
    expect(answerSdp).toMatch(/a=recvonly/);
    const stream = await published;
    const ended = new Promise<[string, string | undefined]>((done) => stream.on('end', (reason, detail) => done([reason, detail])));
    const track = await opened;
    // An MTAP16 packet (NAL type 26), which packetization-mode 1 does not allow.
    track.sendMessageBinary(Buffer.from(rtpBytes(1, 0, Uint8Array.of(26, 0, 0, 0), { payloadType: 96, ssrc: SENDER_SSRC, marker: true })));
    const [reason, detail] = await ended;
    expect(reason).toBe('protocol-error');
    expect(detail).toMatch(/payload type 26/);
    expect(ingest.streamCount).toBe(0);
  }, 20_000);
});
