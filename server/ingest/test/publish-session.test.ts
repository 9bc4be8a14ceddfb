// One PublishSession against a real node-datachannel peer over 127.0.0.1: answering, frames, and an end that comes once.
import { afterEach, describe, expect, it } from 'vitest';
import { connectPeer, offerPeer, type OfferingPeer, type PublisherPeer } from '../../../e2e/support/datachannel-peer.ts';
import { INGEST_DEFAULTS } from '../config.ts';
import { IngestError } from '../errors.ts';
import type { PublishEndReason } from '../published-stream.ts';
import { PublishSession } from '../publish-session.ts';

const cleanup: (() => void)[] = [];

afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
});

function newSession(name: string): { session: PublishSession; ends: [PublishEndReason, string | undefined][] } {
  const session = new PublishSession(name, 'id-' + name, INGEST_DEFAULTS);
  const ends: [PublishEndReason, string | undefined][] = [];
  session.on('end', (reason, detail) => ends.push([reason, detail]));
  cleanup.push(() => session.close('server-closing'));
  return { session, ends };
}

async function offer(name: string): Promise<OfferingPeer> {
  const peer = await offerPeer(`session-test-${name}`);
  cleanup.push(() => peer.close());
  return peer;
}

/** A session answered and connected to a fresh Node peer, its data channel open. */
async function connectSession(name: string): Promise<ReturnType<typeof newSession> & { peer: PublisherPeer }> {
  let current: ReturnType<typeof newSession> | undefined;
  const peer = await connectPeer(`session-test-${name}`, async (offerSdp) => {
    current = newSession(name);
    const session = current.session;
    return { answerSdp: await session.answer(offerSdp), release: () => session.close('stopped') };
  });
  cleanup.push(() => peer.close());
  return { ...current!, peer };
}

async function rejection(promise: Promise<unknown>): Promise<IngestError> {
  const err = await promise.then(
    () => new Error('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(IngestError);
  return err as IngestError;
}

describe('PublishSession', () => {
  it('answers a data-channel offer with a complete answer bound to 127.0.0.1', async () => {
    const { session } = newSession('answer');
    const answer = await session.answer((await offer('answer')).offerSdp);
    expect(answer).toMatch(/^v=0\r\n/);
    expect(answer).toMatch(/a=candidate:.* 127\.0\.0\.1 /);
    expect(answer).toMatch(/m=application .*webrtc-datachannel/);
  });

  it('refuses an offer the engine cannot use as a bad offer', async () => {
    const { session } = newSession('refused');
    const sdp = (await offer('refused')).offerSdp.replace(/a=fingerprint:\S+ \S+/, 'a=fingerprint:sha-256 00:11');
    const err = await rejection(session.answer(sdp));
    expect([err.code, err.streamName]).toEqual(['bad-offer', 'refused']);
  });

  it('emits end once, with the first reason, however often it is closed', () => {
    const { session, ends } = newSession('twice');
    session.close('stopped');
    session.close('server-closing');
    session.fail('too late');
    expect(ends).toEqual([['stopped', undefined]]);
    expect(session.closed).toBe(true);
  });

  it('settles a pending answer when closed during negotiation, and refuses to answer once closed', async () => {
    const { session, ends } = newSession('racing');
    const sdp = (await offer('racing')).offerSdp;
    const answering = session.answer(sdp).then(
      (answer) => ({ answer }),
      (error: unknown) => ({ error }),
    );
    session.close('server-closing');
    const outcome = await answering;
    // Gathering on 127.0.0.1 may finish before the close; either way the promise settles and the end comes once.
    if ('error' in outcome) {
      expect(outcome.error).toBeInstanceOf(IngestError);
      expect((outcome.error as IngestError).code).toBe('negotiation-failed');
    } else {
      expect(outcome.answer).toMatch(/^v=0\r\n/);
    }
    expect(ends).toEqual([['server-closing', undefined]]);
    const late = await rejection(session.answer(sdp));
    expect(late.code).toBe('negotiation-failed');
    expect(late.message).toMatch(/closed during negotiation/);
  });

  it('ends as a protocol error on a text message, and as publisher-ended on the end message', async () => {
    const texting = await connectSession('texting');
    texting.peer.channel.sendMessage('hello');
    await texting.peer.closed;
    expect(texting.ends).toEqual([['protocol-error', 'text message on data channel swarmcast']]);

    const ending = await connectSession('ending');
    ending.peer.send({ type: 'end' });
    await ending.peer.closed;
    expect(ending.ends).toEqual([['publisher-ended', undefined]]);
    expect(ending.session.stats.messagesReceived).toBe(1);
  });
});
