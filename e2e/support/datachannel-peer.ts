// A hand-driven Node publisher peer (node-datachannel over 127.0.0.1) for tests of the ingest: offer, answer, raw frames.
import { PeerConnection, type DataChannel } from 'node-datachannel';
import { encodeMessage, type WireMessage } from '../../shared/protocol/index.ts';

const GATHERING_TIMEOUT_MS = 10_000;

/** A peer that has made its complete offer (no trickle) with its data channels, and has not seen an answer yet. */
export interface OfferingPeer {
  readonly offerSdp: string;
  /** Applies the answer and resolves when every data channel is open. */
  accept(answerSdp: string, timeoutMs?: number): Promise<PublisherPeer>;
  close(): void;
}

export interface PublisherPeer {
  /** The first channel offered (the control channel, `swarmcast`, unless told otherwise). */
  readonly channel: DataChannel;
  /** Every channel, by label. */
  readonly channels: ReadonlyMap<string, DataChannel>;
  /** Sends one data-channel frame exactly as given. */
  sendFrame(frame: Uint8Array): void;
  /** Sends one wire message that fits in a frame. */
  send(message: WireMessage): void;
  /** Resolves when the first channel closes, whichever side closed it. */
  readonly closed: Promise<void>;
  close(): void;
}

/** Offers the given data channels, in order (by default the control channel alone). */
export async function offerPeer(label: string, channelLabels: readonly string[] = ['swarmcast']): Promise<OfferingPeer> {
  const pc = new PeerConnection(label, { iceServers: [], bindAddress: '127.0.0.1' });
  const gathered = new Promise<void>((done) => pc.onGatheringStateChange((state) => state === 'complete' && done()));
  const channels = new Map(channelLabels.map((l) => [l, pc.createDataChannel(l)]));
  const channel = channels.get(channelLabels[0]!)!;
  const opened = Promise.all(
    [...channels].map(
      ([channelLabel, dc]) =>
        new Promise<void>((done, fail) => {
          dc.onOpen(() => done());
          dc.onError((err) => fail(new Error(`data channel error: ${err}`)));
          // The far end may refuse the session while channels are still opening: say so now, not at the timeout.
          dc.onClosed(() => fail(new Error(`data channel "${channelLabel}" closed before it opened`)));
        }),
    ),
  );
  const closed = new Promise<void>((done) => channel.onClosed(() => done()));
  const close = (): void => {
    for (const dc of channels.values()) dc.close();
    pc.close();
  };
  try {
    if (pc.gatheringState() !== 'complete') await withTimeout(gathered, GATHERING_TIMEOUT_MS, 'ICE gathering');
    const offer = pc.localDescription();
    if (!offer) throw new Error('node-datachannel produced no offer');
    const peer: PublisherPeer = {
      channel,
      channels,
      sendFrame: (frame) => void channel.sendMessageBinary(frame),
      send: (message) => void channel.sendMessageBinary(encodeMessage(message)),
      closed,
      close,
    };
    return {
      offerSdp: offer.sdp,
      async accept(answerSdp, timeoutMs = GATHERING_TIMEOUT_MS) {
        pc.setRemoteDescription(answerSdp, 'answer');
        await withTimeout(opened, timeoutMs, 'data channels open');
        return peer;
      },
      close,
    };
  } catch (err) {
    close();
    throw err;
  }
}

/** What a signaling exchange returns: the answer, and how to release the session it opened if the answer is unusable. */
export interface SignaledAnswer {
  answerSdp: string;
  release(): Promise<void> | void;
}

/** Offers made in all when libdatachannel keeps refusing good answers; about one offer in ten is refused here. */
const MAX_OFFERS = 5;

/**
 * Offers, exchanges the offer for an answer (`signal`, e.g. a POST or a direct Ingest call) and waits for the channel
 * to open. libdatachannel now and then refuses a good answer on the offering side ("Got a remote candidate without
 * ICE transport"), or, under load, never opens the channels of one (a CI run saw "data channels open timed out"):
 * the fault is in the local peer, not in the answer, so the session is released, the failure logged, and the whole
 * offer made again, up to MAX_OFFERS times, as a real publisher would.
 */
export async function connectPeer<A extends SignaledAnswer>(
  label: string,
  signal: (offerSdp: string) => Promise<A>,
  channelLabels?: readonly string[],
): Promise<PublisherPeer & { answer: A }> {
  for (let attempt = 1; ; attempt++) {
    const offering = await offerPeer(label, channelLabels);
    let answer: A | undefined;
    try {
      answer = await signal(offering.offerSdp);
      return { ...(await offering.accept(answer.answerSdp)), answer };
    } catch (err) {
      offering.close();
      if (answer) await answer.release();
      if (attempt >= MAX_OFFERS || !answer || !/without ICE transport|data channels open timed out/.test(String(err))) throw err;
      console.warn(`[datachannel-peer] ${label}: ${String(err)}; offering again (${attempt + 1} of ${MAX_OFFERS})`);
    }
  }
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
