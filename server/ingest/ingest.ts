// Publish sessions by stream name: admission (names, limits), life-cycle logs and counts, and the hand-off of each as a PublishedStream.
import { randomBytes } from 'node:crypto';
import { TypedEmitter } from '../../shared/events.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';
import { log } from '../log.ts';
import type { IngestConfig } from './config.ts';
import { IngestError } from './errors.ts';
import { CONNECTION_LOST, type IngestSession, type PublishedStream } from './published-stream.ts';
import { PublishRateLimit } from './rate-limit.ts';
import { PublishSession } from './publish-session.ts';
import { validateOffer } from './sdp-offer.ts';

export interface MediaTiming {
  partTargetMs: number;
  segmentTargetMs: number;
}

export type IngestEvents = {
  /**
   * A publisher was admitted: its messages until its end, for the server to package and serve; `fieldPath` is the
   * field encoder's path, undefined for the browser's data channel.
   */
  stream: [published: PublishedStream, fieldPath: FieldPath | undefined];
  /**
   * The publisher of a session that had already ended (its connection was lost) asked to stop it (DELETE on its
   * Location): a stream waiting for that publisher to reconnect should end now.
   */
  abandoned: [streamName: string];
  error: [Error];
};

/** The ingest paths of field encoders (OBS, ffmpeg, hardware encoders), which negotiate on their own and reach admit(). */
export type FieldPath = 'rtmp' | 'srt' | 'whip';

export interface PublishAnswer {
  sessionId: string;
  answerSdp: string;
}

export class Ingest extends TypedEmitter<IngestEvents> {
  readonly config: IngestConfig;
  readonly timing: MediaTiming;
  #sessions = new Map<string, IngestSession>();
  /** Sessions of field encoders (admitted through admit()): the ones another field encoder may take over. */
  #fieldSessions = new WeakSet<IngestSession>();
  /**
   * The last session of each name whose connection was lost, kept for the reconnect grace period while no other took
   * the name: its publisher may still DELETE it (a Stop pressed while it was reconnecting).
   */
  #ended = new Map<string, { id: string; timer: NodeJS.Timeout }>();
  /** The lost session each reconnected one replaced: a DELETE of the lost one, sent after a late offer, ends both. */
  #replaced = new WeakMap<IngestSession, string>();
  /** Vetted field sessions answered and waiting for their connection (see hold()). */
  #pending = new Set<IngestSession>();
  #rateLimit: PublishRateLimit;
  #publishesTotal = 0;
  #droppedTotal = 0;
  #closed = false;

  constructor(config: IngestConfig, timing: MediaTiming) {
    super();
    this.config = config;
    this.timing = timing;
    this.#rateLimit = new PublishRateLimit(config.maxPublishesPerMinute);
  }

  get streamCount(): number {
    return this.#sessions.size;
  }

  get publishesTotal(): number {
    return this.#publishesTotal;
  }

  /** Publishers dropped for breaking the protocol or the limits. */
  get droppedTotal(): number {
    return this.#droppedTotal;
  }

  get bytesReceived(): number {
    let total = 0;
    for (const session of this.#sessions.values()) total += session.stats.bytesReceived;
    return total;
  }

  /**
   * `replaces`: the id of the publisher's own session that it lost (a reconnecting broadcaster's previous Location).
   * The server may not have seen that session die yet (its idle timeout): it ends now as a drop, so the stream waits
   * in its grace period for this session instead of refusing it as busy.
   */
  async publish(name: string, offerBody: string, clientAddress: string, replaces?: string): Promise<PublishAnswer> {
    checkName(name);
    if (Buffer.byteLength(offerBody) > this.config.maxOfferBytes) {
      throw new IngestError('offer-too-large', name, `SDP offer larger than ${this.config.maxOfferBytes} bytes`);
    }
    const offer = validateOffer(name, offerBody);
    const replaced = replaces === undefined ? undefined : this.#sessions.get(name);
    // Only a browser session is a browser's own: a field encoder's stream is never ended from here.
    if (replaced && replaced.id === replaces && !this.#fieldSessions.has(replaced)) replaced.close('disconnected', 'its publisher reconnected');
    this.#checkRoom(name, clientAddress);
    const continues = replaces !== undefined && this.#ended.get(name)?.id === replaces;
    const id = randomBytes(8).toString('hex');
    const session = new PublishSession(name, id, this.config);
    if (continues) this.#replaced.set(session, replaces);
    // The lost session stays stoppable until this one is answered: a DELETE of it meanwhile, or after a failed
    // answer, still ends the stream waiting for its publisher.
    this.#sessions.set(name, session);
    let answerSdp: string;
    try {
      answerSdp = await session.answer(offer);
    } catch (err) {
      this.#sessions.delete(name);
      session.close('protocol-error', (err as Error).message);
      if (this.#closed) throw this.#shuttingDown(name);
      throw err;
    }
    if (this.#closed || session.closed) {
      // Closed by the server, or stopped (a DELETE of the session it replaces) while it was being answered.
      this.#sessions.delete(name);
      session.close('server-closing');
      throw this.#closed ? this.#shuttingDown(name) : new IngestError('negotiation-failed', name, 'the session was stopped while it was answered');
    }
    this.#forget(name);
    this.#publishesTotal++;
    this.#track(session);
    this.emit('stream', session, undefined);
    log('info', 'publish.accepted', { stream: name, session: id, client: clientAddress });
    return { sessionId: id, answerSdp };
  }

  /**
   * Admits the session of a field encoder's path, which negotiates on its own (RTMP, SRT, WHIP): the same name,
   * stream-limit and publish-rate checks as publish() (throws IngestError), then it is counted and handed out as
   * `stream` like a WebRTC session. The publisher must have passed the PublishAuthorizer already.
   *
   * A name held by another field encoder's session is taken over (PUBLISH_TAKEOVER=field): a restarted encoder asks
   * again before the server has seen its old connection die (SRT's and ICE's timeouts take seconds), and two encoders
   * with the key are the operator's to sort out. The old session ends as a drop, so the stream waits in its reconnect
   * grace and this session continues it. A browser broadcaster's stream is never taken: it has its own way back
   * (`replaces`), and a field encoder must not cut a live show.
   *
   * `vetted`: the publisher passed vet() when it was answered, and was counted against its publish rate then.
   */
  admit(session: IngestSession, clientAddress: string, path: FieldPath, options: { vetted?: boolean } = {}): void {
    const name = session.streamName;
    const replaced = this.#fieldAdmission(name);
    this.#checkRoom(name, clientAddress, replaced, options.vetted !== true);
    this.#pending.delete(session);
    if (replaced) {
      // Two encoders sharing a key keep taking the stream from each other: worth the operator's attention.
      log('warn', 'publish.taken-over', { stream: name, session: replaced.id, by: session.id, client: clientAddress, path });
      replaced.close('disconnected', 'replaced by a new publisher');
    }
    this.#claim(name, session);
    this.#fieldSessions.add(session);
    this.#publishesTotal++;
    this.#track(session);
    this.emit('stream', session, path);
    log('info', 'publish.accepted', { stream: name, session: session.id, client: clientAddress, path });
  }

  /**
   * Throws the IngestError that admit() would throw for a field encoder asking for `name` now, ending nothing: for a
   * path that must answer its caller before the connection is usable (SRT answers the handshake before libsrt has
   * compared passphrases, WHIP answers the offer before ICE connects) and admits only once it is (admit with
   * `vetted`), so a caller that never connects cannot take a live stream over. The request counts against the
   * address's publish rate here, connected or not: a caller failing its passphrase or handshake is still asking.
   */
  vet(name: string, clientAddress: string): void {
    const replaced = this.#fieldAdmission(name);
    this.#checkRoom(name, clientAddress, replaced);
  }

  /**
   * A vetted session answered but not admitted yet (WHIP before ICE connects): its publisher may stop it (DELETE on
   * the Location it was given) and the server's close ends it. Admission or its end lets it go.
   */
  hold(session: IngestSession): void {
    if (this.#closed) {
      session.close('server-closing');
      return;
    }
    this.#pending.add(session);
    session.on('end', (reason, detail) => {
      if (!this.#pending.delete(session)) return;
      log('info', 'publish.unconnected', { stream: session.streamName, session: session.id, reason, detail });
    });
  }

  /**
   * Ends a publish session on the publisher's request (HTTP DELETE on its Location). The session may have ended
   * already, its connection lost, while its stream waits for the publisher to reconnect: `abandoned` then ends that.
   * A session that replaced it (an offer of the publisher's that reached the server after it stopped) ends too.
   */
  stop(name: string, sessionId: string): void {
    const session = this.#sessions.get(name);
    if (session?.id === sessionId) {
      session.close('stopped');
      return;
    }
    if (session && this.#replaced.get(session) === sessionId) {
      // The replacing session may not have been handed out yet (its answer pending): the stream still waits in its
      // grace period for a publisher that has stopped.
      session.close('stopped');
      this.#forget(name);
      log('info', 'publish.abandoned', { stream: name, session: sessionId });
      this.emit('abandoned', name);
      return;
    }
    for (const pending of this.#pending) {
      if (pending.streamName === name && pending.id === sessionId) {
        pending.close('stopped');
        return;
      }
    }
    const ended = this.#ended.get(name);
    if (session || ended?.id !== sessionId) {
      throw new IngestError('not-found', name, `no publish session ${sessionId} on stream "${name}"`);
    }
    this.#forget(name);
    log('info', 'publish.abandoned', { stream: name, session: sessionId });
    this.emit('abandoned', name);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const session of [...this.#sessions.values(), ...this.#pending]) session.close('server-closing');
    for (const name of [...this.#ended.keys()]) this.#forget(name);
    this.removeAllListeners();
  }

  /**
   * The checks every path shares: the name is free (or held by `replacing`, which the newcomer takes over), the server
   * has room, the publisher's address has rate left (`count`: not already counted when it was vetted). Nothing is
   * ended before they all pass.
   */
  #checkRoom(name: string, clientAddress: string, replacing?: IngestSession, count = true): void {
    if (this.#sessions.has(name) && !replacing) {
      throw new IngestError('stream-busy', name, `stream "${name}" is already live`);
    }
    if (this.#sessions.size - (replacing ? 1 : 0) >= this.config.maxStreams) {
      throw new IngestError('too-many-streams', name, `the server is at its limit of ${this.config.maxStreams} live streams`);
    }
    if (count && !this.#rateLimit.allow(clientAddress)) {
      throw new IngestError('rate-limited', name, `more than ${this.config.maxPublishesPerMinute} publish requests a minute`);
    }
  }

  /** A field encoder's first checks (name, not shutting down); returns the field session it would take over, if any. */
  #fieldAdmission(name: string): IngestSession | undefined {
    checkName(name);
    if (this.#closed) throw this.#shuttingDown(name);
    const held = this.#sessions.get(name);
    return held && this.config.publishTakeover === 'field' && this.#fieldSessions.has(held) ? held : undefined;
  }

  #shuttingDown(name: string): IngestError {
    return new IngestError('too-many-streams', name, 'the server is shutting down');
  }

  /** `session` holds the name now: an ended session's publisher can no longer stop the stream. */
  #claim(name: string, session: IngestSession): void {
    this.#forget(name);
    this.#sessions.set(name, session);
  }

  #forget(name: string): void {
    clearTimeout(this.#ended.get(name)?.timer);
    this.#ended.delete(name);
  }

  /** Frees the name, counts and logs when the session ends; registered before the consumer's listeners, so it runs first. */
  #track(session: IngestSession): void {
    const name = session.streamName;
    session.on('end', (reason, detail) => {
      if (this.#sessions.get(name) === session) {
        this.#sessions.delete(name);
        if (CONNECTION_LOST.has(reason) && this.config.publishGraceMs > 0 && !this.#closed) {
          const timer = setTimeout(() => this.#forget(name), this.config.publishGraceMs);
          timer.unref();
          this.#ended.set(name, { id: session.id, timer });
        }
      }
      const dropped = reason === 'protocol-error' || reason === 'idle-timeout' || reason === 'connect-timeout';
      if (dropped) this.#droppedTotal++;
      log(dropped ? 'warn' : 'info', dropped ? 'publish.dropped' : 'publish.ended', {
        stream: name,
        session: session.id,
        reason,
        detail,
        bytes: session.stats.bytesReceived,
      });
    });
  }
}

/** Every path's first check: a name the playback paths can carry. */
function checkName(name: string): void {
  if (!isValidStreamName(name)) throw new IngestError('bad-name', name, 'stream names are 1 to 64 characters of a-z, 0-9, _ and -');
}
