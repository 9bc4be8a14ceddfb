// A broadcast session's life cycle without a browser: failures reported once, close idempotent, a stop while starting quiet.
import { describe, expect, it } from 'vitest';
import { Broadcaster } from './broadcaster.ts';
import { resolveConfig } from './config.ts';
import { BroadcastError } from './errors.ts';
import { BroadcastSession, type SessionOptions } from './session.ts';
import type { PublishTransport } from './transport.ts';

function options(streamName: string, connected: string[]): SessionOptions {
  return {
    streamName,
    sourceKind: 'test',
    config: resolveConfig(),
    connect: async (name) => {
      connected.push(name);
      throw new Error('no transport in this test');
    },
  };
}

describe('BroadcastSession', () => {
  it('reports a failure to start once, after releasing everything, and stays closed', async () => {
    const connected: string[] = [];
    const session = new BroadcastSession(options('Bad Name', connected));
    const failures: BroadcastError[] = [];
    const previews: unknown[] = [];
    session.on('failure', (err) => failures.push(err));
    session.on('preview', (p) => previews.push(p));
    await session.start();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(BroadcastError);
    expect(failures[0]!.code).toBe('invalid-stream-name');
    expect(session.failure).toBe(failures[0]);
    expect(session.ending).toBe(true);
    expect(previews).toEqual([null]);
    await Promise.all([session.stop(), session.close(), session.close()]);
    expect(failures).toHaveLength(1);
    expect(previews).toEqual([null]);
    expect(connected).toEqual([]);
    expect(session.stats()).toMatchObject({ connectionState: undefined, framesSent: 0, bytesSent: 0, timeLiveMs: 0 });
  });

  it('ends quietly when stopped while it starts, and never connects', async () => {
    const connected: string[] = [];
    const session = new BroadcastSession(options('quiet', connected));
    const failures: BroadcastError[] = [];
    session.on('failure', (err) => failures.push(err));
    const started = session.start();
    const stopped = session.stop();
    await Promise.all([started, stopped]);
    expect(session.ending).toBe(true);
    expect(failures).toEqual([]);
    expect(session.failure).toBeUndefined();
    expect(connected).toEqual([]);
  });

  it('reports a browser without WebCodecs in words, without connecting', async () => {
    const connected: string[] = [];
    const session = new BroadcastSession(options('no-webcodecs', connected));
    await session.start();
    expect(session.failure?.code).toBe('encoder-unsupported');
    expect(connected).toEqual([]);
  });
});

describe('Broadcaster over a session that fails', () => {
  it('rejects start() with the error it also emits, and shows it in state and stats', async () => {
    const broadcaster = new Broadcaster({
      streamName: 'no-webcodecs',
      source: 'test',
      connect: async (): Promise<PublishTransport> => {
        throw new Error('not reached');
      },
    });
    const states: string[] = [];
    const errors: BroadcastError[] = [];
    broadcaster.on('state', (s) => states.push(s));
    broadcaster.on('error', (e) => errors.push(e));
    const failure = await broadcaster.start().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(BroadcastError);
    expect(errors).toEqual([failure]);
    expect(states).toEqual(['connecting', 'error']);
    expect(broadcaster.stats()).toMatchObject({ state: 'error', errorCode: 'encoder-unsupported', connectionState: 'closed', fps: 0, framesSent: 0 });
    // Stopping a failed broadcast changes nothing: the error stays on show.
    await broadcaster.stop();
    expect(broadcaster.state).toBe('error');
  });
});
