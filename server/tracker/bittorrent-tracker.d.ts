// Types of the parts of bittorrent-tracker (11.x, untyped JavaScript) the tracker and its tests use.
declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events';
  import type { WebSocket, WebSocketServer } from 'ws';

  /** One announce as the server parsed it (lib/server/parse-websocket.js); ids and hashes are hex. */
  export interface AnnounceParams {
    info_hash: string;
    peer_id: string;
    event?: 'started' | 'stopped' | 'completed' | 'update' | 'paused' | 'empty';
    numwant: number;
    offers?: unknown[];
    answer?: unknown;
    to_peer_id?: string;
    /** The connection the announce came on. */
    socket: WebSocket & { infoHashes: string[] | null };
  }

  export interface SwarmPeer {
    peerId: string;
    socket: (WebSocket & { destroyed?: boolean }) | null;
  }

  export interface Swarm {
    peers: { length: number; peek(peerId: string): SwarmPeer | undefined };
  }

  export interface ServerOptions {
    http: false;
    udp: false;
    stats: false;
    ws: { noServer: true; maxPayload: number };
    /** Announce interval, ms; WebSocket clients are told a fifth of it. */
    interval?: number;
    /** Admits an announce by calling `cb()`, refuses it with `cb(error)` (its message is the failure reason). */
    filter(infoHash: string, params: AnnounceParams, cb: (err?: Error | null) => void): void;
  }

  export class Server extends EventEmitter {
    constructor(options: ServerOptions);
    readonly ws: WebSocketServer;
    /** Swarms by hex info hash. */
    readonly torrents: Record<string, Swarm>;
    close(cb?: () => void): void;
  }

  export interface ClientOptions {
    infoHash: string | Uint8Array;
    peerId: string | Uint8Array;
    announce: string[];
    port?: number;
    getAnnounceOpts?: () => Record<string, unknown>;
  }

  export class Client extends EventEmitter {
    constructor(options: ClientOptions);
    start(): void;
    update(): void;
    stop(): void;
    destroy(cb?: () => void): void;
  }
}
