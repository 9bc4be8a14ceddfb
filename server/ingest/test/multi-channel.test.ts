// A PublishSession with a control channel and one channel per track, against a real node-datachannel peer over 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { connectPeer, type PublisherPeer } from '../../../e2e/support/datachannel-peer.ts';
import { decodeServerMessage, encodeMessage, encodeServerMessage, fragmentMessage, type ChunkMessage, type ReceiptMessage, type WireMessage } from '../../../shared/protocol/index.ts';
import { pollUntil } from '../../../e2e/support/poll.ts';
import { INGEST_DEFAULTS } from '../config.ts';
import type { PublishEndReason } from '../published-stream.ts';
import { PublishSession } from '../publish-session.ts';

const cleanup: (() => void)[] = [];

afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

interface Connected {
  session: PublishSession;
  peer: PublisherPeer;
  messages: WireMessage[];
  ended: Promise<[PublishEndReason, string | undefined]>;
}

async function connect(
  name: string,
  labels: readonly string[],
  onSession: (ended: Promise<[PublishEndReason, string | undefined]>) => void = () => {},
): Promise<Connected> {
  let session: PublishSession | undefined;
  const messages: WireMessage[] = [];
  let ended!: Promise<[PublishEndReason, string | undefined]>;
  const peer = await connectPeer(
    `multi-${name}`,
    async (offerSdp) => {
      const s = new PublishSession(name, `id-${name}`, INGEST_DEFAULTS);
      session = s;
      s.on('message', (m) => messages.push(m));
      ended = new Promise((resolve) => s.on('end', (reason, detail) => resolve([reason, detail])));
      onSession(ended);
      cleanup.push(() => s.close('server-closing'));
      return { answerSdp: await s.answer(offerSdp), release: () => s.close('stopped') };
    },
    labels,
  );
  cleanup.push(() => peer.close());
  return { session: session!, peer, messages, ended };
}

/**
 * How the ingest ends a session that opens channels it refuses. It may close the peer before every channel opened on
 * this side (then connecting fails, saying so), which is the refusal itself, not a failure to connect.
 */
async function refusal(name: string, labels: readonly string[]): Promise<[PublishEndReason, string | undefined]> {
  let ended: Promise<[PublishEndReason, string | undefined]> | undefined;
  try {
    return await (await connect(name, labels, (e) => (ended = e))).ended;
  } catch (err) {
    if (!ended || !/closed before it opened/.test(String(err))) throw err;
    return ended;
  }
}

/** Sends a message on a channel, fragmented below 16 KiB with the given message id. */
function send(peer: PublisherPeer, label: string, message: WireMessage, messageId = 0): void {
  const channel = peer.channels.get(label)!;
  for (const frame of fragmentMessage(encodeMessage(message), messageId, 16 * 1024)) channel.sendMessageBinary(frame);
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
}

const video0 = { type: 'track', kind: 'video', trackId: 0, codec: 'avc1.42001f', width: 1280, height: 720, rendition: '720p' } as const;
const video1 = { type: 'track', kind: 'video', trackId: 1, codec: 'avc1.42001f', width: 426, height: 240, rendition: '240p' } as const;
const audio = { type: 'track', kind: 'audio', trackId: 2, codec: 'opus', sampleRate: 48_000, channels: 2 } as const;
const clock = { type: 'clock', timestampUs: 1_000_000, wallClockMs: 1_764_000_000_000 } as const;
const chunk = (trackId: number, timestampUs: number, size: number): ChunkMessage => ({
  type: 'chunk',
  trackId,
  keyframe: true,
  timestampUs,
  durationUs: 20_000,
  data: bytes(size, trackId + timestampUs),
});

const LABELS = ['swarmcast', 'swarmcast/0', 'swarmcast/1', 'swarmcast/2'];

describe('PublishSession with a channel per track', () => {
  it('holds chunks that overtake the header, reassembles each channel on its own, and ends once every channel ended', async () => {
    const c = await connect('multi', LABELS);
    // A fragmented keyframe on the top rung and small chunks on the others, all with message id 0 on their channel.
    send(c.peer, 'swarmcast/0', chunk(0, 1_000_000, 100_000));
    send(c.peer, 'swarmcast/2', chunk(2, 1_000_000, 300));
    send(c.peer, 'swarmcast/1', chunk(1, 1_000_000, 40_000));
    for (const m of [video0, video1, audio, clock]) send(c.peer, 'swarmcast', m);
    send(c.peer, 'swarmcast/2', chunk(2, 1_020_000, 300));
    send(c.peer, 'swarmcast/0', chunk(0, 1_033_333, 50_000), 1);
    send(c.peer, 'swarmcast', { type: 'end' });
    for (const label of LABELS.slice(1)) send(c.peer, label, { type: 'end' });
    expect(await c.ended).toEqual(['publisher-ended', undefined]);

    const order = c.messages.map((m) => (m.type === 'chunk' ? `chunk${m.trackId}@${m.timestampUs}` : m.type));
    expect(order.slice(0, 4)).toEqual(['track', 'track', 'track', 'clock']);
    expect(order.slice(4).sort()).toEqual(['chunk0@1000000', 'chunk0@1033333', 'chunk1@1000000', 'chunk2@1000000', 'chunk2@1020000']);
    const big = c.messages.find((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === 0 && m.timestampUs === 1_000_000)!;
    expect(Buffer.from(big.data).equals(Buffer.from(chunk(0, 1_000_000, 100_000).data))).toBe(true);
    // Per track, chunks keep their order.
    const track2 = c.messages.filter((m): m is ChunkMessage => m.type === 'chunk' && m.trackId === 2).map((m) => m.timestampUs);
    expect(track2).toEqual([1_000_000, 1_020_000]);
    expect(c.session.stats.messagesReceived).toBe(4 + 5 + 4);
  });

  it('drops the publisher for a chunk on another track\'s channel', async () => {
    const c = await connect('wrong-track', LABELS);
    for (const m of [video0, video1, audio, clock]) send(c.peer, 'swarmcast', m);
    send(c.peer, 'swarmcast/1', chunk(0, 1_000_000, 100));
    const [reason, detail] = await c.ended;
    expect(reason).toBe('protocol-error');
    expect(detail).toMatch(/wrong-channel: chunk of track 0 on the channel of track 1 \(data channel swarmcast\/1\)/);
    expect(c.messages.filter((m) => m.type === 'chunk')).toEqual([]);
  });

  it('drops the publisher for a chunk on the control channel or a track config on a track channel', async () => {
    const onControl = await connect('chunk-on-control', LABELS);
    for (const m of [video0, video1, audio, clock]) send(onControl.peer, 'swarmcast', m);
    send(onControl.peer, 'swarmcast', chunk(2, 1_000_000, 100));
    expect(await onControl.ended).toEqual(['protocol-error', 'wrong-channel: chunk of track 2 on the control channel (data channel swarmcast)']);

    const config = await connect('config-on-track', LABELS);
    send(config.peer, 'swarmcast/0', video0);
    expect((await config.ended)[1]).toMatch(/^wrong-channel: track message on the channel of track 0/);
  });

  it('drops the publisher for a channel it may not open: an unknown label, a second control channel, a track not in the header', async () => {
    expect((await refusal('unknown-label', ['swarmcast', 'swarmcast/16']))[1]).toMatch(/^wrong-channel: data channel "swarmcast\/16" is neither/);
    expect(await refusal('twice', ['swarmcast', 'swarmcast'])).toEqual(['protocol-error', 'wrong-channel: a second data channel "swarmcast"']);

    const stray = await connect('stray', ['swarmcast', 'swarmcast/0', 'swarmcast/5']);
    for (const m of [video0, clock]) send(stray.peer, 'swarmcast', m);
    send(stray.peer, 'swarmcast/5', chunk(5, 1_000_000, 100));
    expect((await stray.ended)[1]).toMatch(/^out-of-order: chunk of track 5, which the header did not configure/);
  });

  it('still takes the single-channel form: everything in order on the control channel', async () => {
    const c = await connect('single', ['swarmcast']);
    for (const m of [clock, video0, audio, chunk(0, 1_000_000, 70_000), chunk(2, 1_000_000, 200)]) send(c.peer, 'swarmcast', m);
    send(c.peer, 'swarmcast', { type: 'end' });
    expect(await c.ended).toEqual(['publisher-ended', undefined]);
    expect(c.messages.map((m) => m.type)).toEqual(['clock', 'track', 'track', 'chunk', 'chunk']);
  });

  it('sends receipts of what arrived per track channel back on the control channel, no more often than every 25 ms', async () => {
    const c = await connect('receipts', LABELS);
    const receipts: { atMs: number; receipt: ReceiptMessage }[] = [];
    c.peer.channels.get('swarmcast')!.onMessage((msg) => {
      receipts.push({ atMs: performance.now(), receipt: decodeServerMessage(new Uint8Array(msg as Buffer)) });
    });
    for (const m of [video0, video1, audio, clock]) send(c.peer, 'swarmcast', m);
    let sent0 = 0;
    let sent2 = 0;
    for (let i = 0; i < 20; i++) {
      for (const frame of fragmentMessage(encodeMessage(chunk(0, 1_000_000 + i * 33_333, 40_000)), i, 16 * 1024)) {
        c.peer.channels.get('swarmcast/0')!.sendMessageBinary(frame);
        sent0 += frame.byteLength;
      }
      const small = encodeMessage(chunk(2, 1_000_000 + i * 20_000, 300));
      c.peer.channels.get('swarmcast/2')!.sendMessageBinary(small);
      sent2 += small.byteLength;
    }
    const bytesOf = (r: ReceiptMessage, trackId: number): number => r.channels.find((ch) => ch.trackId === trackId)?.bytes ?? 0;
    await pollUntil(
      async () => receipts.at(-1)?.receipt,
      (last) => last !== undefined && bytesOf(last, 0) === sent0 && bytesOf(last, 2) === sent2,
      3000,
      'a receipt of everything sent',
    );
    // Cumulative, never going back; the control channel's own bytes are not counted; bounded in rate.
    for (const [i, r] of receipts.entries()) {
      expect(r.receipt.channels.some((ch) => ch.trackId > 2)).toBe(false);
      if (i === 0) continue;
      expect(bytesOf(r.receipt, 0)).toBeGreaterThanOrEqual(bytesOf(receipts[i - 1]!.receipt, 0));
      expect(r.atMs - receipts[i - 1]!.atMs).toBeGreaterThan(15);
    }
    expect(receipts.length).toBeGreaterThanOrEqual(2);
  });

  it('ends the session as protocol-error when a publisher sends it a receipt', async () => {
    const c = await connect('sends-receipt', LABELS);
    c.peer.channels.get('swarmcast')!.sendMessageBinary(encodeServerMessage({ type: 'receipt', channels: [{ trackId: 0, bytes: 1 }] }));
    const [reason, detail] = await c.ended;
    expect(reason).toBe('protocol-error');
    expect(detail).toMatch(/receipt/);
  });
});
