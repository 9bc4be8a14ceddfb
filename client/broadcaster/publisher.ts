// The WebRTC publisher: one RTCPeerConnection with a control channel and a channel per track, signaled by one HTTP exchange (POST offer → 201 answer).
import { TypedEmitter } from '../../shared/events.ts';
import { CONTROL_CHANNEL_LABEL, ProtocolError, decodeServerMessage, trackChannelLabel } from '../../shared/protocol/index.ts';
import { BroadcastError, iceFailure } from './errors.ts';
import type { PublishChannel, PublishTransport, TransportEvents, TransportOptions } from './transport.ts';

export interface PublisherOptions extends TransportOptions {
  /** Where `/api/publish/NAME` lives; defaults to the page's origin. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer KEY` on the offer and on the session's DELETE (the WHIP convention). */
  publishKey?: string | undefined;
  /** Non-trickle signaling sends the offer once every candidate is gathered, or after this long. */
  iceGatheringTimeoutMs?: number;
  /** From the answer to the data channel opening. */
  openTimeoutMs?: number;
  /** How long `close()` waits for queued frames (the `end` message) to leave. */
  drainTimeoutMs?: number;
}

const DEFAULT_ICE_GATHERING_TIMEOUT_MS = 5000;
const DEFAULT_OPEN_TIMEOUT_MS = 10_000;
const DEFAULT_DRAIN_TIMEOUT_MS = 1000;
/**
 * How long the connection may stay `disconnected` (ICE checks unanswered) before it counts as lost. A browser calls it
 * `failed` only after its consent checks time out (about 30 s in Chromium), longer than the server keeps the stream for
 * a reconnect; a blip shorter than this recovers by itself.
 */
const DISCONNECTED_LOSS_MS = 3000;
/** stopLost(): how long one DELETE may take, and how often it is tried while the server cannot be reached. */
export const STOP_ATTEMPT_TIMEOUT_MS = 3000;
const STOP_RETRY_MS = 1000;
/** What an SDP without `a=max-message-size` allows (RFC 8841). */
const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

const connectionLost = (name: string): BroadcastError =>
  new BroadcastError('connection-failed', 'The connection to the server was lost. Check your network and go live again.', name);

export class WebRtcPublisher extends TypedEmitter<TransportEvents> implements PublishTransport {
  readonly streamName: string;
  readonly segmentTargetMs: number | undefined;
  readonly partTargetMs: number | undefined;
  readonly control: PublishChannel;
  readonly tracks: ReadonlyMap<number, PublishChannel>;
  #pc: RTCPeerConnection;
  #channels: RTCDataChannel[];
  #location: string | undefined;
  #authorization: Record<string, string>;
  #drainTimeoutMs: number;
  #closed = false;
  /** The connection broke: close() then leaves the session to the server, which keeps the stream for a reconnect. */
  #lost = false;
  #disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  #badMessageSeen = false;

  /** Connects and resolves once the data channel is open; rejects with a BroadcastError in the user's words. */
  static async connect(streamName: string, options: PublisherOptions): Promise<WebRtcPublisher> {
    const pc = new RTCPeerConnection({ iceServers: [] });
    const control = pc.createDataChannel(CONTROL_CHANNEL_LABEL, { ordered: true });
    const tracks = new Map(options.trackIds.map((id) => [id, pc.createDataChannel(trackChannelLabel(id), { ordered: true })]));
    const all = [control, ...tracks.values()];
    for (const dc of all) dc.binaryType = 'arraybuffer';
    const { signal } = options;
    const aborted = (): BroadcastError =>
      new BroadcastError('connection-failed', 'The broadcast ended before its connection was made.', streamName, { cause: signal?.reason });
    const authorization = authorizationOf(options.publishKey);
    let answer: Answer | undefined;
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await iceGatheringComplete(pc, options.iceGatheringTimeoutMs ?? DEFAULT_ICE_GATHERING_TIMEOUT_MS, signal, aborted);
      const offer = pc.localDescription?.sdp;
      if (!offer) throw new BroadcastError('connection-failed', 'The browser could not prepare a connection (no SDP offer).', streamName);
      const url = new URL(`/api/publish/${encodeURIComponent(streamName)}`, options.baseUrl ?? location.origin);
      if (options.replaces !== undefined) url.searchParams.set('replaces', options.replaces);
      answer = await postOffer(url, offer, streamName, authorization, signal);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      const serverSdp = answer.sdp;
      const unreachable = (): BroadcastError =>
        iceFailure({ streamName, firefox: /\bFirefox\//.test(navigator.userAgent), serverAddresses: candidateAddresses(serverSdp) });
      const openTimeoutMs = options.openTimeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
      await Promise.all(all.map((dc) => channelOpen(pc, dc, openTimeoutMs, unreachable, signal, aborted)));
      return new WebRtcPublisher(streamName, pc, control, tracks, answer, options);
    } catch (err) {
      pc.close();
      // The server made a session for the answered offer (one that replaces a lost session has already ended that):
      // left alone, it would hold the stream until the server's grace runs out. Not awaited: with the network down the
      // DELETE may hang, and the next reconnection attempt must not wait on it.
      if (answer?.location) void deleteSession(answer.location, authorization);
      if (err instanceof BroadcastError) throw err;
      throw new BroadcastError('connection-failed', `The browser could not connect to the server (${String(err)}).`, streamName, { cause: err });
    }
  }

  private constructor(
    streamName: string,
    pc: RTCPeerConnection,
    control: RTCDataChannel,
    tracks: ReadonlyMap<number, RTCDataChannel>,
    answer: Answer,
    options: PublisherOptions,
  ) {
    super();
    this.streamName = streamName;
    this.#pc = pc;
    this.#channels = [control, ...tracks.values()];
    this.#location = answer.location;
    this.#authorization = authorizationOf(options.publishKey);
    this.segmentTargetMs = answer.segmentTargetMs;
    this.partTargetMs = answer.partTargetMs;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
    this.control = this.#channel(control);
    this.tracks = new Map([...tracks].map(([id, dc]) => [id, this.#channel(dc)]));
    control.addEventListener('message', (event: MessageEvent) => this.#onServerMessage(event.data));
    for (const dc of this.#channels) {
      dc.addEventListener('close', () => this.#fail());
      dc.addEventListener('error', () => this.#fail());
    }
    pc.addEventListener('connectionstatechange', () => {
      this.emit('state', pc.connectionState);
      clearTimeout(this.#disconnectedTimer);
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') this.#fail();
      if (pc.connectionState === 'disconnected') this.#disconnectedTimer = setTimeout(() => this.#fail(), DISCONNECTED_LOSS_MS);
    });
  }

  get connectionState(): string {
    return this.#pc.connectionState;
  }

  /** The publish session's id on the server: the last part of its Location. */
  get sessionId(): string | undefined {
    return this.#location?.split('/').pop();
  }

  #channel(dc: RTCDataChannel): PublishChannel {
    const isClosed = (): boolean => this.#closed;
    const pc = this.#pc;
    return {
      get maxFrameBytes() {
        return pc.sctp?.maxMessageSize ?? DEFAULT_MAX_MESSAGE_BYTES;
      },
      get bufferedAmount() {
        return isClosed() ? 0 : dc.bufferedAmount;
      },
      send(frame) {
        if (isClosed() || dc.readyState !== 'open') return;
        dc.send(frame as Uint8Array<ArrayBuffer>);
      },
      onBufferedAmountLow(thresholdBytes, listener) {
        dc.bufferedAmountLowThreshold = thresholdBytes;
        dc.addEventListener('bufferedamountlow', () => {
          if (!isClosed()) listener();
        });
      },
    };
  }

  async roundTripTimeMs(): Promise<number | null> {
    if (this.#closed) return null;
    const stats = [...(await this.#pc.getStats()).values()] as Record<string, unknown>[];
    const selectedId = stats.find((s) => s.type === 'transport' && typeof s.selectedCandidatePairId === 'string')?.selectedCandidatePairId;
    // Firefox names no selected pair on its transport stats; its candidate pairs carry a `selected` flag instead.
    const pair = stats.find((s) => s.type === 'candidate-pair' && (selectedId !== undefined ? s.id === selectedId : s.selected === true));
    return typeof pair?.currentRoundTripTime === 'number' ? pair.currentRoundTripTime * 1000 : null;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#disconnectedTimer);
    this.removeAllListeners();
    await Promise.all(this.#channels.map((dc) => drained(dc, this.#drainTimeoutMs)));
    for (const dc of this.#channels) dc.close();
    this.#pc.close();
    // A DELETE is a deliberate stop, which would end the stream at once; a lost session is the server's to time out.
    if (this.#location && !this.#lost) await deleteSession(this.#location, this.#authorization);
  }

  async stopLost(withinMs: number): Promise<void> {
    const location = this.#location;
    if (!this.#lost || !location) return;
    const deadline = performance.now() + withinMs;
    let lastError: unknown;
    for (let startedAt = performance.now(); startedAt < deadline; startedAt = performance.now()) {
      try {
        // Not `keepalive`: Chromium does not give up such a request when it is aborted, and a retry then waits on its connection.
        const res = await fetch(location, { method: 'DELETE', headers: this.#authorization, signal: AbortSignal.timeout(Math.min(STOP_ATTEMPT_TIMEOUT_MS, deadline - startedAt)) });
        // Done when the server ended the stream, or had no such session left to end (the grace ran out, or a reconnect
        // replaced it). A server error may pass; any other refusal (the key, say) is the same on every try.
        if (res.ok || res.status === 404) return;
        lastError = new Error(`HTTP ${res.status}`);
        if (res.status < 500) break;
      } catch (err) {
        lastError = err;
      }
      const waitMs = Math.min(startedAt + STOP_RETRY_MS, deadline) - performance.now();
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
    console.warn(`swarmcast: could not DELETE ${location}; the server ends the stream after its grace period:`, lastError);
  }

  /** A receipt goes to the session; anything else the server may send later is not for this publisher, and is ignored. */
  #onServerMessage(data: unknown): void {
    if (this.#closed || !(data instanceof ArrayBuffer)) return;
    try {
      this.emit('receipt', decodeServerMessage(new Uint8Array(data)));
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      if (!this.#badMessageSeen) console.warn(`swarmcast: ignoring a message from the server: ${err.message}`);
      this.#badMessageSeen = true;
    }
  }

  #fail(): void {
    if (this.#closed || this.#lost) return;
    this.#lost = true;
    this.emit('failure', connectionLost(this.streamName));
  }
}

interface Answer {
  sdp: string;
  location: string | undefined;
  segmentTargetMs: number | undefined;
  partTargetMs: number | undefined;
}

const authorizationOf = (publishKey: string | undefined): Record<string, string> =>
  publishKey ? { Authorization: `Bearer ${publishKey}` } : {};

async function postOffer(url: URL, offer: string, streamName: string, authorization: Record<string, string>, signal: AbortSignal | undefined): Promise<Answer> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...authorization }, body: offer, ...(signal && { signal }) });
  } catch (err) {
    throw new BroadcastError('server-unreachable', `Swarmcast's server can't be reached at ${url.origin}. Check your connection and try again.`, streamName, { cause: err });
  }
  const body = await res.text().catch(() => '');
  if (res.status === 201 || res.status === 200) {
    const header = res.headers.get('Location');
    return {
      // Untouched: Chromium rejects an SDP whose last line lacks its line ending.
      sdp: body,
      location: header ? new URL(header, url).href : undefined,
      segmentTargetMs: positiveNumber(res.headers.get('X-Segment-Target-Ms')),
      partTargetMs: positiveNumber(res.headers.get('X-Part-Target-Ms')),
    };
  }
  throw signalingError(res.status, body.trim(), streamName, {
    retryAfterS: positiveNumber(res.headers.get('Retry-After')),
    sentKey: 'Authorization' in authorization,
  });
}

/** Turns the ingest's HTTP answers into messages a broadcaster can act on. */
export function signalingError(
  status: number,
  reason: string,
  streamName: string,
  { retryAfterS, sentKey = false }: { retryAfterS?: number | undefined; sentKey?: boolean } = {},
): BroadcastError {
  const why = reason ? ` (${reason.slice(0, 200)})` : '';
  switch (status) {
    case 401:
      if (!sentKey) return new BroadcastError('key-required', 'This server needs a publish key to go live. Enter the key you were given in the Publish key field.', streamName);
      if (/expired/.test(reason)) {
        return new BroadcastError('key-rejected', 'Your publish key has expired. Ask the server’s operator for a new one and enter it in the Publish key field.', streamName);
      }
      return new BroadcastError('key-rejected', 'The server did not accept this publish key. Check it (it is case-sensitive) and try again.', streamName);
    case 403:
      return new BroadcastError('key-rejected', `This publish key is for another stream, not “${streamName}”. Use the stream name that goes with your key, or ask for a key for this one.`, streamName);
    case 409:
      return new BroadcastError('stream-taken', `Someone is already live on “${streamName}”. Pick another stream name or stop the other broadcast.`, streamName);
    case 429:
      return new BroadcastError(
        'rate-limited',
        `Too many attempts to go live in a short time. Wait ${retryAfterS === undefined ? 'a minute' : waitText(retryAfterS)} and try again.`,
        streamName,
      );
    case 503:
      return new BroadcastError('server-full', 'The server is at its limit of live streams right now. Try again in a few minutes.', streamName);
    case 404:
      return new BroadcastError('rejected', 'This server does not accept broadcasts at this address (HTTP 404). Open the broadcast page from your Swarmcast server.', streamName);
    case 400:
      return new BroadcastError('rejected', `The server refused to start “${streamName}”${why}.`, streamName);
    default:
      return new BroadcastError('rejected', `The server could not start the broadcast: HTTP ${status}${why}.`, streamName);
  }
}

const waitText = (seconds: number): string => (seconds < 90 ? `${Math.ceil(seconds)} seconds` : `${Math.ceil(seconds / 60)} minutes`);

function positiveNumber(value: string | null): number | undefined {
  const n = Number(value);
  return value !== null && Number.isFinite(n) && n > 0 ? n : undefined;
}

/** A DELETE of a publish session that ends its stream; a failure is only logged (the server's grace ends it anyway). */
async function deleteSession(location: string, authorization: Record<string, string>): Promise<void> {
  try {
    const res = await fetch(location, { method: 'DELETE', keepalive: true, headers: authorization });
    if (!res.ok && res.status !== 404) console.warn(`swarmcast: DELETE ${location} answered HTTP ${res.status}`);
  } catch (err) {
    console.warn(`swarmcast: could not DELETE ${location}:`, err);
  }
}

/** Resolves once every candidate is gathered, or after `timeoutMs`; rejects with `aborted()` when `signal` aborts first. */
function iceGatheringComplete(pc: RTCPeerConnection, timeoutMs: number, signal: AbortSignal | undefined, aborted: () => BroadcastError): Promise<void> {
  if (signal?.aborted) return Promise.reject(aborted());
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve, reject) => {
    // On timeout the offer goes with the candidates gathered so far, which on a LAN or loopback is all of them.
    const timer = setTimeout(done, timeoutMs);
    const onAbort = (): void => done(aborted());
    function done(err?: BroadcastError): void {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    }
    function check(): void {
      if (pc.iceGatheringState === 'complete') done();
    }
    pc.addEventListener('icegatheringstatechange', check);
    signal?.addEventListener('abort', onAbort);
  });
}

/** The addresses of the `a=candidate` lines of an SDP (RFC 8839: the fifth field), in order, without repeats. */
export function candidateAddresses(sdp: string): string[] {
  const addresses = new Set<string>();
  for (const match of sdp.matchAll(/^a=candidate:\S+ \S+ \S+ \S+ (\S+) /gm)) addresses.add(match[1]!);
  return [...addresses];
}

/**
 * Resolves when the data channel opens; rejects with `failed()` when ICE fails, the channel closes, or `timeoutMs` passes,
 * and with `aborted()` when `signal` aborts first.
 */
function channelOpen(
  pc: RTCPeerConnection,
  dc: RTCDataChannel,
  timeoutMs: number,
  failed: () => BroadcastError,
  signal: AbortSignal | undefined,
  aborted: () => BroadcastError,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(aborted());
  if (dc.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(failed()), timeoutMs);
    const onOpen = (): void => finish();
    const onClose = (): void => finish(failed());
    const onState = (): void => {
      if (pc.connectionState === 'failed' || pc.connectionState === 'closed') finish(failed());
    };
    const onAbort = (): void => finish(aborted());
    function finish(err?: BroadcastError): void {
      clearTimeout(timer);
      dc.removeEventListener('open', onOpen);
      dc.removeEventListener('close', onClose);
      pc.removeEventListener('connectionstatechange', onState);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    }
    dc.addEventListener('open', onOpen);
    dc.addEventListener('close', onClose);
    pc.addEventListener('connectionstatechange', onState);
    signal?.addEventListener('abort', onAbort);
  });
}

function drained(dc: RTCDataChannel, timeoutMs: number): Promise<void> {
  if (dc.readyState !== 'open' || dc.bufferedAmount === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const poll = setInterval(() => {
      if (dc.readyState !== 'open' || dc.bufferedAmount === 0) done();
    }, 20);
    function done(): void {
      clearTimeout(timer);
      clearInterval(poll);
      resolve();
    }
  });
}
