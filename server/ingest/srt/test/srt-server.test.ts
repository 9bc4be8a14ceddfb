// The SRT listener end to end on 127.0.0.1 with real callers (ffmpeg, srt-live-transmit): routing, bytes, refusals, garbage, restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../../../../e2e/support/poll.ts';
import { TypedEmitter } from '../../../../shared/events.ts';
import { PublishAuthorizer } from '../../../access/index.ts';
import { INGEST_DEFAULTS, type PublishTakeover } from '../../config.ts';
import { Ingest } from '../../ingest.ts';
import type { IngestSession, PublishEndReason, PublishedStreamEvents } from '../../published-stream.ts';
import { srtListenerBinary } from '../binary.ts';
import { SrtPublisher, SrtServer, SrtUnavailableError } from '../index.ts';
import { HandshakeObserver } from './handshake-observer.ts';

const KEY = 'srt-test-key-0123456789';
const PASSPHRASE = 'correct horse battery';
/** SRT latency for the tests' callers, ms: room for a loaded machine, so the receiver never drops a late packet. */
const LATENCY_MS = 500;
/** ffmpeg takes it in microseconds; linger lets it wait for its last packets' acknowledgements when it closes. */
const LATENCY = `latency=${LATENCY_MS * 1000}&linger=5`;

const dir = mkdtempSync(join(tmpdir(), 'swarmcast-srt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A few seconds of H.264 + AAC in MPEG-TS, distinct per `pattern`. */
function makeTs(name: string, pattern: string, seconds: number): Promise<string> {
  const path = join(dir, name);
  return run('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `${pattern}=size=320x240:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440'],
    ...['-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-c:a', 'aac', '-f', 'mpegts', path],
  ]).exit.then((code) => {
    if (code !== 0) throw new Error(`ffmpeg could not make ${name}`);
    return path;
  });
}

/** A UDP port free on 127.0.0.1 a moment ago (for srt-live-transmit's input). */
function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => {
    const { port } = socket.address();
    socket.close(() => resolve(port));
  }));
}

function run(command: string, args: string[], input?: Buffer): { child: ChildProcess; exit: Promise<number | null>; stderr: () => string } {
  const child = spawn(command, args, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  if (input) child.stdin!.end(input);
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exit, stderr: () => stderr };
}

/** ffmpeg sends `file` in real time to `url` over and over, until it is killed or its connection is closed. */
function ffmpegPublishLooping(file: string, url: string): ReturnType<typeof run> {
  return run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'mpegts', url]);
}

/** ffmpeg sends `file` in real time to `url` and, through its tee muxer, the identical MPEG-TS to a file: what arrives must equal it. */
function ffmpegPublish(file: string, url: string, copyPath?: string): ReturnType<typeof run> {
  const escaped = url.replace(/[:\\]/g, '\\$&');
  const output = copyPath ? ['-f', 'tee', `[f=mpegts]${escaped}|[f=mpegts]${copyPath}`] : ['-f', 'mpegts', url];
  return run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-i', file, '-map', '0', '-c', 'copy', ...output]);
}

interface Received {
  publisher: SrtPublisher;
  chunks: Uint8Array[];
  end: Promise<[PublishEndReason, string | undefined]>;
}

const bytesOf = (received: Received): Buffer => Buffer.concat(received.chunks);

/** Where two byte strings first differ (their common length when one is a prefix of the other). */
function firstDifference(a: Buffer, b: Buffer): number {
  const length = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}

/**
 * Checks that what arrived is what the caller sent, byte for byte and in order. A caller that closes ends the
 * connection at once, and libsrt delivers nothing its TSBPD has not released yet: up to LATENCY_MS of the very end of
 * what was sent may be missing, never a byte in between (`matching` is the length of the common prefix).
 */
function expectSent(received: Received, sentPath: string, seconds: number): void {
  const got = bytesOf(received);
  const sent = readFileSync(sentPath);
  const matching = firstDifference(got, sent);
  const tailBound = (sent.byteLength * LATENCY_MS) / 1000 / seconds;
  expect({ received: got.byteLength, matching }).toEqual({ received: got.byteLength, matching: got.byteLength });
  expect(sent.byteLength - got.byteLength, `${got.byteLength} of ${sent.byteLength} bytes`).toBeLessThanOrEqual(tailBound);
}

/** What the lead's wiring will do: each admitted publisher becomes an IngestSession that the real Ingest admits. */
class SrtSession extends TypedEmitter<PublishedStreamEvents> implements IngestSession {
  readonly id = randomBytes(4).toString('hex');
  readonly stats = { bytesReceived: 0 };
  constructor(readonly publisher: SrtPublisher) {
    super();
    publisher.on('close', (reason, detail) => this.close(reason, detail));
  }
  get streamName(): string {
    return this.publisher.streamName;
  }
  fail(detail: string): void {
    this.close('protocol-error', detail);
  }
  close(reason: PublishEndReason, detail?: string): void {
    this.publisher.close(reason, detail);
    this.emit('end', reason, detail);
    this.removeAllListeners();
  }
}

function startServer(passphrase: string | undefined, publishTakeover: PublishTakeover = 'field'): { server: SrtServer; ingest: Ingest; received: Received[] } {
  const ingest = new Ingest({ ...INGEST_DEFAULTS, publishTakeover }, { partTargetMs: 200, segmentTargetMs: 2000 });
  const received: Received[] = [];
  const authorizer = new PublishAuthorizer({ key: KEY, streamKeys: {}, secret: undefined, mode: 'auto' });
  const server = new SrtServer({
    authorizer,
    passphrase,
    vet: (publisher) => ingest.vet(publisher.streamName, publisher.remoteAddress),
    admit: (publisher) => {
      const chunks: Uint8Array[] = [];
      const end = new Promise<[PublishEndReason, string | undefined]>((resolve) => publisher.on('close', (...args) => resolve(args)));
      publisher.on('data', (bytes) => chunks.push(bytes.slice()));
      ingest.admit(new SrtSession(publisher), publisher.remoteAddress, 'srt', { vetted: true });
      received.push({ publisher, chunks, end });
    },
  });
  return { server, ingest, received };
}

function named(received: Received[], name: string, index = 0): Received | undefined {
  return received.filter((r) => r.publisher.streamName === name)[index];
}

describe('SRT listener', () => {
  let fileA: string;
  let fileB: string;
  const { server, ingest, received } = startServer(undefined);
  let port: number;
  let observer: HandshakeObserver;
  let observed: number;

  beforeAll(async () => {
    [fileA, fileB] = await Promise.all([makeTs('a.ts', 'testsrc', 3), makeTs('b.ts', 'smptebars', 3)]);
    port = await server.listen(0, '127.0.0.1');
    observer = new HandshakeObserver(port);
    observed = await observer.listen();
  });

  afterAll(async () => {
    observer.close();
    await server.close();
    ingest.close();
  });

  it('takes two publishers at once on one port, routed by streamid, each byte intact and in order', async () => {
    const copy = join(dir, 'one-sent.ts');
    const one = ffmpegPublish(fileA, `srt://127.0.0.1:${port}?streamid=publish:one:${KEY}&${LATENCY}`, copy);
    // An independent caller: srt-live-transmit, with the access-control streamid form, relaying what it gets on a UDP port.
    const udpPort = await freeUdpPort();
    const two = run('srt-live-transmit', [
      ...['-q', '-a:no', `udp://127.0.0.1:${udpPort}`],
      `srt://127.0.0.1:${port}?streamid=#!::r=two,m=publish,key=${KEY}&latency=1000`,
    ]);
    await pollUntil(async () => named(received, 'two') !== undefined, Boolean, 5000, 'srt-live-transmit admitted');
    const second = named(received, 'two')!;
    const fileBytes = readFileSync(fileB);
    const sender = createSocket('udp4');
    for (let at = 0; at < fileBytes.byteLength; at += 1316) {
      await new Promise((resolve) => sender.send(fileBytes.subarray(at, at + 1316), udpPort, '127.0.0.1', resolve));
    }
    sender.close();
    expect(await one.exit, one.stderr()).toBe(0);
    await pollUntil(async () => second.publisher.bytesReceived, (n) => n >= fileBytes.byteLength, 10_000, 'all of b.ts relayed');
    two.child.kill('SIGTERM');
    const first = named(received, 'one')!;
    await Promise.all([first.end, second.end, two.exit]);
    expectSent(first, copy, 3);
    expect(bytesOf(second).equals(fileBytes)).toBe(true);
    expect(first.publisher.remoteAddress).toBe('127.0.0.1');
    expect(first.publisher.key).toBe(KEY);
    expect(await first.end).toEqual(['disconnected', expect.any(String)]);
    expect(ingest.streamCount).toBe(0);
  });

  it('refuses a wrong or missing key (1401), a bad streamid (1400) and a reader (1405); nothing reaches the ingest', async () => {
    const admittedBefore = received.length;
    const attempts: [string, number][] = [
      [`publish:demo:wrong-key-wrong-key`, 1401],
      ['publish:demo', 1401],
      ['live/demo', 1400],
      ['publish:Not A Name', 1400],
      ['#!::r=demo,m=request', 1405],
    ];
    for (const [streamId, code] of attempts) {
      const before = observer.rejections.length;
      // ffmpeg 5.1 passes the streamid on as written (no percent-decoding).
      const attempt = ffmpegPublish(fileA, `srt://127.0.0.1:${observed}?streamid=${streamId}`);
      expect(await attempt.exit, streamId).not.toBe(0);
      expect(observer.rejections.slice(before), streamId).toContain(code);
    }
    expect(received.length).toBe(admittedBefore);
  });

  it('lets a second caller with the key take over a live name: the listener closes the first connection, the second flows intact', async () => {
    // The observer outlives a retry of this test: its accepts are this run's from here on.
    const acceptsBefore = observer.acceptMs.length;
    // The first caller would send forever: it can only have stopped because the second took its name.
    const live = ffmpegPublishLooping(fileA, `srt://127.0.0.1:${observed}?streamid=publish:busy:${KEY}&${LATENCY}`);
    await pollUntil(async () => named(received, 'busy')?.chunks.length ?? 0, (n) => n > 0, 5000, 'first publisher flowing');
    const rejectionsBefore = observer.rejections.length;
    const copy = join(dir, 'takeover-sent.ts');
    const second = ffmpegPublish(fileB, `srt://127.0.0.1:${observed}?streamid=publish:busy:${KEY}&${LATENCY}`, copy);
    const first = named(received, 'busy')!;
    expect(await first.end).toEqual(['disconnected', 'replaced by a new publisher']);
    // Closed by the listener (its "K" command), ffmpeg sees the connection broken.
    expect(await live.exit).not.toBe(0);
    expect(await second.exit, second.stderr()).toBe(0);
    const taker = named(received, 'busy', 1)!;
    await taker.end;
    expectSent(taker, copy, 3);
    expect(observer.rejections.slice(rejectionsBefore)).toEqual([]);
    // The accepting conclusion answers, listen callback and Node's decision included, as the callers saw them.
    const acceptMs = observer.acceptMs.slice(acceptsBefore);
    expect(acceptMs).toHaveLength(2);
    console.log(`SRT accept: conclusion request to accepting answer ${acceptMs.map((ms) => ms.toFixed(2)).join(', ')} ms`);
    expect(Math.max(...acceptMs)).toBeLessThan(250);
  });

  it('survives garbage datagrams and truncated handshakes while a publisher keeps flowing', async () => {
    const pid = server.listenerPid;
    const copy = join(dir, 'garbage-sent.ts');
    const publish = ffmpegPublish(fileA, `srt://127.0.0.1:${port}?streamid=publish:steady:${KEY}&${LATENCY}`, copy);
    await pollUntil(async () => named(received, 'steady') !== undefined, Boolean, 5000, 'publisher admitted');
    const steady = named(received, 'steady');
    const junk = createSocket('udp4');
    const send = (bytes: Uint8Array): Promise<void> => new Promise((resolve) => junk.send(bytes, port, '127.0.0.1', () => resolve()));
    // A caller's induction handshake (control bit, type 0, version 4, UDT type 2, handshake type 1), cut at every length.
    const induction = Buffer.alloc(64);
    induction.writeUInt32BE(0x80000000, 0);
    induction.writeUInt32BE(4, 16);
    induction.writeUInt32BE(2, 20);
    induction.writeInt32BE(1, 36);
    for (let length = 0; length <= induction.byteLength; length++) await send(induction.subarray(0, length));
    // A conclusion handshake with a forged cookie and random extensions, then random datagrams of every size class.
    const conclusion = Buffer.concat([induction, randomBytes(200)]);
    conclusion.writeUInt32BE(5, 16);
    conclusion.writeInt32BE(-1, 36);
    await send(conclusion);
    for (let i = 0; i < 300; i++) await send(randomBytes(1 + ((i * 37) % 1500)));
    junk.close();
    expect(await publish.exit, publish.stderr()).toBe(0);
    await steady!.end;
    expectSent(steady!, copy, 3);
    expect(server.listenerPid).toBe(pid);
  });

  it('restarts a listener that dies, ends its publishers, and takes them again on the same port', async () => {
    const looping = ffmpegPublishLooping(fileA, `srt://127.0.0.1:${port}?streamid=publish:phoenix:${KEY}&${LATENCY}`);
    await pollUntil(async () => named(received, 'phoenix')?.chunks.length ?? 0, (n) => n > 0, 5000, 'publisher flowing');
    const before = named(received, 'phoenix');
    const pid = server.listenerPid!;
    process.kill(pid, 'SIGKILL');
    expect(await before!.end).toEqual(['disconnected', expect.stringContaining('SIGKILL')]);
    looping.child.kill('SIGKILL');
    await looping.exit;
    await pollUntil(async () => server.listenerPid, (next) => next !== undefined && next !== pid, 5000, 'listener restarted');
    expect(server.port).toBe(port);
    const copy = join(dir, 'again-sent.ts');
    const again = ffmpegPublish(fileA, `srt://127.0.0.1:${port}?streamid=publish:phoenix:${KEY}&${LATENCY}`, copy);
    expect(await again.exit, again.stderr()).toBe(0);
    const after = named(received, 'phoenix', 1)!;
    await after.end;
    expectSent(after, copy, 3);
  });
});

describe('SRT listener with PUBLISH_TAKEOVER=off', () => {
  const { server, ingest, received } = startServer(undefined, 'off');
  let file: string;
  let observer: HandshakeObserver;
  let observed: number;

  beforeAll(async () => {
    file = await makeTs('off.ts', 'testsrc', 3);
    observer = new HandshakeObserver(await server.listen(0, '127.0.0.1'));
    observed = await observer.listen();
  });

  afterAll(async () => {
    observer.close();
    await server.close();
    ingest.close();
  });

  it('refuses a second caller on a live name with 1409 while the first goes on', async () => {
    const live = ffmpegPublish(file, `srt://127.0.0.1:${observed}?streamid=publish:busy:${KEY}&${LATENCY}`);
    await pollUntil(async () => named(received, 'busy')?.chunks.length ?? 0, (n) => n > 0, 5000, 'first publisher flowing');
    const second = ffmpegPublish(file, `srt://127.0.0.1:${observed}?streamid=publish:busy:${KEY}`);
    expect(await second.exit).not.toBe(0);
    expect(observer.rejections).toEqual([1409]);
    expect(await live.exit, live.stderr()).toBe(0);
    expect(received).toHaveLength(1);
  });
});

describe('SRT listener with SRT_PASSPHRASE', () => {
  const { server, ingest, received } = startServer(PASSPHRASE);
  let file: string;
  let port: number;
  /** Long enough that the intruder surely calls while the publisher is live. */
  const seconds = 10;

  beforeAll(async () => {
    file = await makeTs('p.ts', 'testsrc2', seconds);
    port = await server.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await server.close();
    ingest.close();
  });

  it('refuses callers without the passphrase or with a wrong one; takes the right one, encrypted end to end', async () => {
    // The key is right, so these pass the accept decision; libsrt then fails their handshake, and only an open
    // connection is admitted into the ingest: none ever was.
    for (const passphrase of ['', '&passphrase=wrong horse battery']) {
      const attempt = ffmpegPublish(file, `srt://127.0.0.1:${port}?streamid=publish:secret:${KEY}${passphrase}`);
      expect(await attempt.exit).not.toBe(0);
    }
    expect(received).toHaveLength(0);
    expect(ingest.streamCount).toBe(0);

    const copy = join(dir, 'secret-sent.ts');
    const publish = ffmpegPublish(file, `srt://127.0.0.1:${port}?streamid=publish:secret:${KEY}&passphrase=${PASSPHRASE}&${LATENCY}`, copy);
    // While it is live, a caller with the key but a wrong passphrase must not take the stream over.
    await pollUntil(async () => named(received, 'secret')?.chunks.length ?? 0, (n) => n > 0, 5000, 'the encrypted publisher flowing');
    const intruder = ffmpegPublish(file, `srt://127.0.0.1:${port}?streamid=publish:secret:${KEY}&passphrase=wrong horse battery`);
    expect(await intruder.exit).not.toBe(0);
    expect([ingest.streamCount, publish.child.exitCode]).toEqual([1, null]);
    expect(await publish.exit, publish.stderr()).toBe(0);
    expect(received).toHaveLength(1);
    const accepted = received[0]!;
    expect((await accepted.end)[1]).not.toBe('replaced by a new publisher');
    expectSent(accepted, copy, seconds);
  });
});

describe('SRT listener build', () => {
  it('says what is missing when the compiler or libsrt cannot be found', async () => {
    const path = process.env.PATH;
    const cache = mkdtempSync(join(tmpdir(), 'swarmcast-srt-cache-'));
    process.env.PATH = '/nonexistent';
    try {
      await expect(srtListenerBinary(cache)).rejects.toThrow(SrtUnavailableError);
      await expect(srtListenerBinary(cache)).rejects.toThrow(/apt-get install/);
    } finally {
      process.env.PATH = path;
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
