// What e2e/p2p.test.ts, the p2p bench and their namespace driver (p2p-netns-driver.ts) share: scenarios and results.

/** The veth address every peer's host candidate is on; nothing else but lo exists in the namespace. */
export const P2P_VETH_ADDRESS = '10.77.0.1';
export const P2P_VETH = 'sc-p2p0';
export const P2P_VETH_PEER = 'sc-p2p1';

export type ViewerBrowser = 'chromium' | 'firefox';

export interface CandidatePair {
  local: string | null;
  remote: string | null;
  localType: string | null;
  remoteType: string | null;
}

/** One viewer's player stats as `window.swarmcast.stats()` gives them, the fields the suites read. */
export interface ViewerSample {
  state: string;
  latencyMs: number | null;
  stalls: number;
  currentTime: number;
  bytesHttp: number;
  bytesP2p: number;
  peers: number;
  rejectedP2pSegments: number;
  bannedPeers: number;
  targetLatencyMs: number | null;
  edge: string | null;
  edgeSwitches: number;
  bufferMs: number;
  playbackRate: number;
  /** The watch page's overlay over the video, null while hidden. */
  overlay: string | null;
}

export interface ViewerReport {
  name: string;
  browser: ViewerBrowser;
  final: ViewerSample;
  /** The ICE pairs of this page's peer connections that carried data. */
  pairs: CandidatePair[];
  /** Peer connections this page has closed (a peer dropped or gone). */
  closedConnections: number;
  /** Times a peer this page had banned connected to it again (from the player's console). */
  bannedReconnects: number;
  /** BANDWIDTH of the multivariant playlist the page read last (the one its player's swarm info hash is derived from). */
  bandwidth: number | null;
}

/** Requests and response bytes the viewers made to the server, by kind, counted by the driver's front proxy. */
export interface EdgeTraffic {
  mediaRequests: number;
  mediaBytes: number;
  playlistRequests: number;
  otherRequests: number;
  otherBytes: number;
}

export interface P2pE2eResult {
  linksBefore: string[];
  linksAfter: string[];
  routes: string[];
  /** Each of the four viewers' glass-to-glass latency when it started playing (the first joined at go-live), by name. */
  joinedLatencyMs: Record<string, number>;
  /** The four viewers once they share segments. */
  shared: ViewerReport[];
  /** The viewer who joined while the others played, once it received segments from peers. */
  late: ViewerReport;
  /** After one viewer started corrupting what it uploads: the honest viewers' stats a while later, and the bad one's name. */
  badPeer: string;
  afterBadPeer: ViewerReport[];
  /** The honest viewers' bytes from peers when the first corrupted segment was refused, by name. */
  p2pBytesAtCaught: Record<string, number>;
  /** The honest viewers' stall counts when the bad peer started, by name. */
  stallsAtBadPeer: Record<string, number>;
  /** A viewer alone in the swarm playing from edges B and C: its stats before B went away and a while after. */
  failover: {
    edgeB: string;
    edgeC: string;
    before: ViewerSample;
    after: ViewerSample;
    edgeCMediaRequests: number;
    /** Media bytes edge C served from B's going away until `after`. */
    edgeCMediaBytes: number;
    /** Wall-clock seconds from B's going away until `after`. */
    wallS: number;
  };
  /** The tracker once the late viewer (who read the multivariant playlist long after go-live) received segments from peers. */
  trackerWithLate: { swarms: number; peers: number; relayed: number };
  tracker: { swarms: number; peers: number; relayed: number };
  security: P2pSecurityReport;
  /** Every stall a viewer had, as the driver saw it (when, and the viewer's stats then): for the suite's messages. */
  stallLog: string[];
  serverLog: string[];
}

/** The e2e's stream is token-protected and encrypted; what shows that tokens do not split the swarm and peers move ciphertext. */
export interface P2pSecurityReport {
  /** Each viewer's playback token (`&token=` on its watch page), by viewer name, the failover viewer's included. */
  tokens: Record<string, string>;
  /** Media key requests each viewer made under its own `/t/TOKEN/` prefix, counted by the proxies in front of the server. */
  keyRequestsUnderOwnToken: Record<string, number>;
  failoverViewer: string;
  /** The tracker while the four first viewers shared segments. */
  trackerWhileSharing: { swarms: number; peers: number; relayed: number };
  /** The newest segment digests.json lists, fetched by the driver with a token of its own, and again without one. */
  ciphertext: { status: number; digestMatches: boolean; bytes: number; firstBoxType: string; statusWithoutToken: number };
}

export interface P2pBenchRow {
  mode: 'low' | 'p2p';
  viewers: number;
  seconds: number;
  /** Media bytes the viewers got from peers, as a share of all media bytes they got (p2p mode; 0 in low mode). */
  peerShare: number;
  edge: EdgeTraffic;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  stalls: number;
  /** Machine CPU in use over the measured window, % of all cores. */
  cpuPercent: number;
  /** Viewers that were playing at the end. */
  playing: number;
  /** Peers each viewer was connected to at the end, on average. */
  peersPerViewer: number;
  /**
   * RTCPeerConnections each viewer's page created in the window, on average: every announce (the tracker's 10 s) makes
   * five offers, and every offer relayed to a peer makes it a connection to answer with, whether or not the two are
   * connected already (p2p-media-loader then drops the duplicate).
   */
  peerConnectionsPerViewer: number;
}
