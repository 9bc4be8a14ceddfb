// The WHIP tests' publisher: a node-datachannel peer with an H.264 track that sends raw RTP, published through publishWhip.
import { PeerConnection, Video, type Track } from 'node-datachannel';
import type { Ingest, PublishAnswer } from '../../ingest.ts';
import type { PublishedStream } from '../../published-stream.ts';
import { publishWhip } from '../whip-publish.ts';

/** Offers made in all (as e2e/support/datachannel-peer.ts): libdatachannel now and then refuses a good answer as the offerer. */
const MAX_OFFERS = 5;
export const RTP_PAYLOAD_TYPE = 96;

export interface RtpSenderOptions {
  ssrc: number;
  /** Changes the offer before it is posted (e.g. adds what a browser's offer carries). */
  rewriteOffer?: (sdp: string) => string;
}

export interface AnsweredRtpSender {
  pc: PeerConnection;
  track: Track;
  answer: PublishAnswer;
  /** The port of the answer's host candidate: the session's ICE port on 127.0.0.1. */
  port: number;
}

export interface ConnectedRtpSender extends AnsweredRtpSender {
  /** The stream the ingest handed out for this session, once it was admitted. */
  stream: PublishedStream;
}

const senders: PeerConnection[] = [];

/** Closes every sender peer made since the last call (a test's afterEach). */
export function closeRtpSenders(): void {
  for (const pc of senders.splice(0)) pc.close();
}

/** Offers and publishes over WHIP, and goes no further: the answer is never applied, so the session never connects. */
export async function answerRtpSender(ingest: Ingest, name: string, options: RtpSenderOptions): Promise<AnsweredRtpSender> {
  const pc = new PeerConnection('test-sender', { iceServers: [], bindAddress: '127.0.0.1' });
  senders.push(pc);
  const video = new Video('0', 'SendOnly');
  video.addH264Codec(RTP_PAYLOAD_TYPE);
  video.addSSRC(options.ssrc, 'test');
  const track = pc.addTrack(video);
  const gathered = new Promise<void>((done) => pc.onGatheringStateChange((state) => state === 'complete' && done()));
  pc.setLocalDescription();
  await gathered;
  const sdp = pc.localDescription()!.sdp;
  const answer = await publishWhip(ingest, name, options.rewriteOffer ? options.rewriteOffer(sdp) : sdp, '127.0.0.1');
  const port = Number(/a=candidate:\S+ 1 UDP \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(answer.answerSdp)?.[1]);
  return { pc, track, answer, port };
}

/** Publishes over WHIP and resolves once the track is open and the ingest has admitted the session (it is connected). */
export async function connectRtpSender(ingest: Ingest, name: string, options: RtpSenderOptions): Promise<ConnectedRtpSender> {
  for (let attempt = 1; ; attempt++) {
    const answered = await answerRtpSender(ingest, name, options);
    const { pc, track, answer } = answered;
    const admitted = new Promise<PublishedStream>((done) => {
      const onStream = (stream: PublishedStream): void => {
        if ((stream as { id?: string }).id !== answer.sessionId) return;
        ingest.off('stream', onStream);
        done(stream);
      };
      ingest.on('stream', onStream);
    });
    try {
      const opened = new Promise<Track>((done) => track.onOpen(() => done(track)));
      pc.setRemoteDescription(answer.answerSdp, 'answer');
      await opened;
      return { ...answered, stream: await admitted };
    } catch (err) {
      // The fault is the local offerer's ("Got a remote candidate without ICE transport"): release and offer again.
      pc.close();
      ingest.stop(name, answer.sessionId);
      if (attempt >= MAX_OFFERS || !/without ICE transport/.test(String(err))) throw err;
      console.warn(`[whip test sender] ${String(err)}; offering again (${attempt + 1} of ${MAX_OFFERS})`);
    }
  }
}
