// The WebTorrent tracker viewers find each other through: bittorrent-tracker's server on the WebSocket upgrades of
// /tracker that the HTTP server hands it, admitting only the swarms of the origin's streams, within bounds, with one
// swarm per rendition whatever BANDWIDTH each viewer's multivariant playlist said (admission.ts).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server, type AnnounceParams } from 'bittorrent-tracker';
import { Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import { log } from '../log.ts';
import { SwarmAdmission, hexOf, type SwarmDirectory } from './admission.ts';
import { AnnounceRate } from './announce-rate.ts';
import { resolveTrackerConfig, type TrackerConfig } from './config.ts';
import { AnnounceRefused } from './errors.ts';
import { createTrackerMetrics, type TrackerMetrics } from './metrics.ts';

/** The path of the tracker's WebSocket on the origin and on every edge. */
export const TRACKER_PATH = '/tracker';

export interface TrackerOptions extends Partial<TrackerConfig> {
  /** Where the streams' published variants come from (the origin). */
  directory: SwarmDirectory;
  /** Registry the tracker's metrics join; a registry of its own when absent. */
  registry?: Registry;
}

/** What the tracker keeps per connection. */
interface Connection {
  rate: AnnounceRate;
  /** `infoHash peerId` pairs this connection announced and has not stopped. */
  memberships: Set<string>;
  /** The one stream whose swarms this connection may join (its playback token's), when playback tokens are on. */
  stream: string | undefined;
  /**
   * The info hash (hex) this connection announced for each rendition swarm it is in (by the swarm's hex key): what the
   * tracker writes back into every message it sends this connection about that swarm, which its client files by info hash.
   */
  announcedAs: Map<string, string>;
}

export class Tracker {
  readonly config: TrackerConfig;
  readonly registry: Registry;
  #server: Server;
  #admission: SwarmAdmission;
  #metrics: TrackerMetrics;
  #connections = new Map<WebSocket, Connection>();
  /** The stream of each upgraded socket, from its upgrade until bittorrent-tracker announces its connection. */
  #pendingStreams = new WeakMap<WebSocket, string | undefined>();
  /** Upgrades accepted and not yet closed (including those still in the handshake). */
  #open = 0;
  #pruneTimer: NodeJS.Timeout;
  #closed = false;

  constructor(options: TrackerOptions) {
    const { directory, registry, ...overrides } = options;
    this.config = resolveTrackerConfig(overrides);
    this.#admission = new SwarmAdmission(directory);
    this.registry = registry ?? new Registry();
    this.#server = new Server({
      http: false,
      udp: false,
      stats: false,
      ws: { noServer: true, maxPayload: this.config.maxMessageBytes },
      // bittorrent-tracker tells WebSocket clients a fifth of its interval.
      interval: this.config.announceIntervalMs * 5,
      filter: (infoHash, params, cb) => {
        this.#admit(infoHash, params).then(
          () => cb(null),
          (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
        );
      },
    });
    // Bad client input is a warning for the server (bittorrent-tracker answers the client itself); refusals are counted.
    this.#server.on('warning', (err: Error) => {
      if (!(err instanceof AnnounceRefused)) log('debug', 'tracker.warning', { reason: err.message });
    });
    this.#server.on('error', (err: Error) => log('error', 'tracker.error', { reason: err.message }));
    this.#server.ws.on('connection', (socket: WebSocket) => this.#onConnection(socket));
    this.#metrics = createTrackerMetrics(this.registry, {
      swarms: () => Object.keys(this.#server.torrents).length,
      peers: () => Object.values(this.#server.torrents).reduce((sum, swarm) => sum + swarm.peers.length, 0),
      connections: () => this.#connections.size,
    });
    this.#pruneTimer = setInterval(() => this.prune(), this.config.pruneIntervalMs);
    this.#pruneTimer.unref();
  }

  /** Takes over an HTTP upgrade of TRACKER_PATH: a WebSocket to the tracker, or 503 when it holds all it may. */
  /** Takes over an HTTP upgrade of TRACKER_PATH; `stream` limits the connection to that stream's swarms (its playback token's). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, stream?: string): void {
    if (this.#closed || this.#open >= this.config.maxConnections) {
      this.#metrics.rejected.inc({ reason: 'connections' });
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nRetry-After: 5\r\n\r\ntracker busy\n');
      return;
    }
    this.#open++;
    socket.once('close', () => this.#open--);
    this.#server.ws.handleUpgrade(req, socket, head, (ws) => {
      this.#pendingStreams.set(ws, stream);
      const send = ws.send.bind(ws) as (data: unknown, ...rest: unknown[]) => void;
      ws.send = ((data: unknown, ...rest: unknown[]) => send(this.#asAnnounced(ws, data), ...rest)) as typeof ws.send;
      this.#server.ws.emit('connection', ws, req);
    });
  }

  /** Drops swarms without peers (bittorrent-tracker keeps every swarm it ever made). Returns how many. */
  prune(): number {
    let pruned = 0;
    for (const [infoHash, swarm] of Object.entries(this.#server.torrents)) {
      if (swarm.peers.length > 0) continue;
      delete this.#server.torrents[infoHash];
      pruned++;
    }
    this.#metrics.pruned.inc(pruned);
    return pruned;
  }

  /** Closes every connection and stops pruning. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#pruneTimer);
    for (const socket of this.#connections.keys()) socket.terminate();
    this.#connections.clear();
    this.#server.close();
  }

  #onConnection(socket: WebSocket): void {
    if (this.#closed) {
      socket.terminate();
      return;
    }
    this.#connections.set(socket, {
      rate: new AnnounceRate(this.config.announceBurst, this.config.announcesPerSecond, Date.now()),
      memberships: new Set(),
      stream: this.#pendingStreams.get(socket),
      announcedAs: new Map(),
    });
    this.#pendingStreams.delete(socket);
    socket.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#metrics.rejected.inc({ reason: 'oversize' });
    });
    socket.once('close', () => this.#connections.delete(socket));
  }

  /** Resolves when the announce may go on; rejects with the reason it may not (bittorrent-tracker sends it to the client). */
  async #admit(infoHash: string, params: AnnounceParams): Promise<void> {
    const connection = this.#connections.get(params.socket);
    if (!connection) throw new Error('connection closed');
    // Leaving a swarm is never refused for its rate: it only frees room.
    if (params.event !== 'stopped' && !connection.rate.take(Date.now())) throw this.#refuse('rate-limited', infoHash);
    const admitted = await this.#admission.swarmOf(infoHash);
    if (admitted === undefined) throw this.#refuse('unknown-swarm', infoHash);
    if (connection.stream !== undefined && admitted.stream !== connection.stream) throw this.#refuse('other-stream', infoHash);
    // bittorrent-tracker would file a peer whose connection closed while this announce was being admitted.
    if (!this.#connections.has(params.socket)) throw new Error('connection closed');
    // bittorrent-tracker files the announce (and relays its offers and answers) under params.info_hash.
    const swarmKey = this.#swarmKeyFor(connection, admitted.swarm, infoHash);
    params.info_hash = swarmKey;
    const membership = `${swarmKey} ${params.peer_id}`;
    const swarm = this.#server.torrents[swarmKey];
    const member = swarm?.peers.peek(params.peer_id) !== undefined;
    if (params.event === 'stopped') {
      connection.memberships.delete(membership);
    } else if (!member) {
      if (!connection.memberships.has(membership) && connection.memberships.size >= this.config.maxMembershipsPerConnection) {
        throw this.#refuse('too-many-swarms', infoHash);
      }
      if ((swarm?.peers.length ?? 0) >= this.config.maxPeersPerSwarm) throw this.#refuse('swarm-full', infoHash);
      connection.memberships.add(membership);
    }
    this.#metrics.announces.inc();
    this.#countRelayed(params, swarm?.peers.length ?? 0, member);
  }

  /**
   * The rendition's swarm for `infoHash`, remembering that this connection announced it so; `infoHash` itself (a swarm
   * of its own) when the connection is already in the rendition's swarm under another of its hashes (two players on one
   * page that read the playlist at different times: what the tracker sends back could not say which of them it is for).
   */
  #swarmKeyFor(connection: Connection, swarm: string, infoHash: string): string {
    const announced = connection.announcedAs.get(swarm);
    if (announced !== undefined && announced !== infoHash) {
      const inSwarm = [...connection.memberships].some((membership) => membership.startsWith(`${swarm} `));
      if (inSwarm) return infoHash;
    }
    connection.announcedAs.set(swarm, infoHash);
    return swarm;
  }

  /** A message for `socket` with the swarm's key in `info_hash` written back as the info hash the socket announced. */
  #asAnnounced(socket: WebSocket, data: unknown): unknown {
    const announcedAs = this.#connections.get(socket)?.announcedAs;
    if (!announcedAs?.size || typeof data !== 'string') return data;
    const message = JSON.parse(data) as { info_hash?: unknown };
    if (typeof message.info_hash !== 'string') return data;
    const announced = announcedAs.get(hexOf(message.info_hash));
    return announced === undefined ? data : JSON.stringify({ ...message, info_hash: Buffer.from(announced, 'hex').toString('latin1') });
  }

  /** bittorrent-tracker relays an offer to each of up to `numwant` other peers of the swarm, and an answer to its addressee. */
  #countRelayed(params: AnnounceParams, swarmPeers: number, member: boolean): void {
    const offers = Array.isArray(params.offers) ? Math.min(params.offers.length, params.numwant, swarmPeers - (member ? 1 : 0)) : 0;
    if (offers > 0) this.#metrics.relayed.inc({ kind: 'offer' }, offers);
    if (params.answer !== undefined && params.to_peer_id !== undefined && this.#server.torrents[params.info_hash]?.peers.peek(params.to_peer_id)) {
      this.#metrics.relayed.inc({ kind: 'answer' });
    }
  }

  #refuse(reason: AnnounceRefused['reason'], infoHash: string): AnnounceRefused {
    this.#metrics.rejected.inc({ reason });
    return new AnnounceRefused(reason, infoHash);
  }
}

