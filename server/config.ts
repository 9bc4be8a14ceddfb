// The server's one typed configuration: defaults, environment overrides, validation at start.
import { existsSync } from 'node:fs';
import {
  checkPlaybackAccessConfig,
  hasPublishKeys,
  MEDIA_ENCRYPTION_DEFAULTS,
  MIN_PUBLISH_KEY_CHARS,
  PLAYBACK_ACCESS_DEFAULTS,
  PUBLISH_AUTH_DEFAULTS,
  PublishKeysError,
  readPublishKeysFile,
  type MediaEncryptionConfig,
  type PlaybackAccessConfig,
  type PublishAuthConfig,
} from './access/index.ts';
import { EDGE_DEFAULTS, type EdgeConfig } from './edge/index.ts';
import { INGEST_DEFAULTS, type IngestConfig } from './ingest/index.ts';
import { LOG_LEVELS, type LogLevel } from './log.ts';
import { parseLadder, TRANSCODE_DEFAULTS, TranscodeLadderError, type TranscodeConfig } from './transcode/index.ts';
import { isValidStreamName } from '../shared/stream-name.ts';

export type Role = 'all' | 'origin' | 'edge';

/** One entry of RTCConfiguration.iceServers, as players get it from /api/config. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface ServerConfig {
  /** Which parts run in this process. */
  role: Role;
  /** HTTP listen port and address. */
  port: number;
  host: string;
  /** Upstream origins of an edge, tried in order. */
  originUrls: string[];
  /** RTMP ingest port on `host` (0: a free one); undefined: no RTMP ingest. Origins only. */
  rtmpPort: number | undefined;
  /** SRT ingest UDP port on `host` (0: a free one); undefined: no SRT ingest. Origins only. */
  srtPort: number | undefined;
  /** Set: every SRT publisher must encrypt with this passphrase (10 to 79 characters); unset: unencrypted. */
  srtPassphrase: string | undefined;
  media: {
    /** LL-HLS part target (EXT-X-PART-INF PART-TARGET), ms. */
    partTargetMs: number;
    /** Segment duration = GOP, ms; the broadcaster forces a keyframe on every boundary. */
    segmentTargetMs: number;
    /** Segments listed in a media playlist. */
    windowSegments: number;
  };
  ingest: IngestConfig;
  /** Ladders made at the origin for field encoders' single-rendition streams. Origins only. */
  transcode: TranscodeConfig;
  /** Cache and upstream bounds of ROLE=edge (its origins are `originUrls`). */
  edge: Omit<EdgeConfig, 'originUrls'>;
  /** ICE servers viewers' peer connections use (STUN/TURN); none by default, so peers offer host candidates only. */
  iceServers: IceServer[];
  /** Log lines below this level are not written. */
  logLevel: LogLevel;
  /** PEM certificate and key files: set, the server speaks HTTPS (HTTP/2 and HTTP/1.1) instead of HTTP. */
  tls: { certPath: string | undefined; keyPath: string | undefined };
  /** Who may publish and watch, and how media is protected. */
  access: {
    /** Who may publish (server/access/publish-auth.ts). */
    publish: PublishAuthConfig;
    /** Set, `/metrics` answers only `Authorization: Bearer METRICS_TOKEN`. */
    metricsToken: string | undefined;
    /** Streams served AES-128 encrypted, and their key rotation. */
    encryption: MediaEncryptionConfig;
    /** Who may watch and from where: playback tokens, geo rules, trusted proxies (server/access/playback-guard.ts). */
    playback: PlaybackAccessConfig;
  };
}

export const DEFAULT_CONFIG: ServerConfig = {
  role: 'all',
  port: 8080,
  host: '127.0.0.1',
  originUrls: [],
  rtmpPort: 1935,
  srtPort: 8890,
  srtPassphrase: undefined,
  media: {
    partTargetMs: 200,
    segmentTargetMs: 2000,
    windowSegments: 12,
  },
  ingest: INGEST_DEFAULTS,
  transcode: TRANSCODE_DEFAULTS,
  edge: {
    cacheMaxBytes: EDGE_DEFAULTS.cacheMaxBytes,
    upstreamTimeoutMs: EDGE_DEFAULTS.upstreamTimeoutMs,
    originRetryMs: EDGE_DEFAULTS.originRetryMs,
    maxWaitersPerRequest: EDGE_DEFAULTS.maxWaitersPerRequest,
    maxWaitingClients: EDGE_DEFAULTS.maxWaitingClients,
  },
  iceServers: [],
  logLevel: 'info',
  tls: { certPath: undefined, keyPath: undefined },
  access: { publish: PUBLISH_AUTH_DEFAULTS, metricsToken: undefined, encryption: MEDIA_ENCRYPTION_DEFAULTS, playback: PLAYBACK_ACCESS_DEFAULTS },
};

/** Shortest secret that signs publish tokens (HMAC-SHA256 wants at least its 256-bit output in key material). */
const MIN_SECRET_CHARS = 32;
/** Shortest PUBLISH_KEY and METRICS_TOKEN. */
const MIN_KEY_CHARS = MIN_PUBLISH_KEY_CHARS;
/** What a ConfigError shows in place of a key's value: keys are never printed. */
const HIDDEN = '(hidden)';

/** Environment variable → setter; the README's configuration table lists exactly these. */
export const ENVIRONMENT: Record<string, (config: ServerConfig, value: string) => void> = {
  ROLE: (c, v) => {
    if (v !== 'all' && v !== 'origin' && v !== 'edge') throw new ConfigError('ROLE', v, 'one of all, origin, edge');
    c.role = v;
  },
  PORT: (c, v) => (c.port = int('PORT', v, 0, 65535)),
  RTMP_PORT: (c, v) => (c.rtmpPort = v.trim() === 'off' ? undefined : int('RTMP_PORT', v, 0, 65535)),
  SRT_PORT: (c, v) => (c.srtPort = v.trim() === 'off' ? undefined : int('SRT_PORT', v, 0, 65535)),
  SRT_PASSPHRASE: (c, v) => {
    // libsrt's bounds for SRTO_PASSPHRASE; a newline would break the listener's command line.
    if (v.length < 10 || v.length > 79 || /[\r\n]/.test(v)) throw new ConfigError('SRT_PASSPHRASE', HIDDEN, '10 to 79 characters on one line');
    c.srtPassphrase = v;
  },
  HOST: (c, v) => (c.host = v),
  ORIGIN_URL: (c, v) => {
    c.originUrls = v.split(',').map((s) => s.trim()).filter(Boolean);
    for (const url of c.originUrls) {
      if (!/^https?:\/\/[^/]+\/?$/.test(url)) throw new ConfigError('ORIGIN_URL', url, 'http(s)://host[:port], comma-separated');
    }
  },
  EDGE_CACHE_MAX_MB: (c, v) => (c.edge.cacheMaxBytes = int('EDGE_CACHE_MAX_MB', v, 1, 1_000_000) * 1024 * 1024),
  // Unset, an edge derives its upstream wait per stream from the EXT-X-TARGETDURATION it sees; set, it overrides that.
  EDGE_UPSTREAM_TIMEOUT_MS: (c, v) => (c.edge.upstreamTimeoutMs = int('EDGE_UPSTREAM_TIMEOUT_MS', v, 1000, 120_000)),
  PART_TARGET_MS: (c, v) => (c.media.partTargetMs = int('PART_TARGET_MS', v, 100, 1000)),
  SEGMENT_TARGET_MS: (c, v) => (c.media.segmentTargetMs = int('SEGMENT_TARGET_MS', v, 500, 10_000)),
  WINDOW_SEGMENTS: (c, v) => (c.media.windowSegments = int('WINDOW_SEGMENTS', v, 3, 1000)),
  MAX_STREAMS: (c, v) => (c.ingest.maxStreams = int('MAX_STREAMS', v, 1, 100_000)),
  MAX_PUBLISHES_PER_MINUTE: (c, v) => (c.ingest.maxPublishesPerMinute = int('MAX_PUBLISHES_PER_MINUTE', v, 1, 1_000_000)),
  PUBLISH_IDLE_TIMEOUT_MS: (c, v) => (c.ingest.idleTimeoutMs = int('PUBLISH_IDLE_TIMEOUT_MS', v, 1000, 600_000)),
  PUBLISH_GRACE_MS: (c, v) => (c.ingest.publishGraceMs = int('PUBLISH_GRACE_MS', v, 0, 600_000)),
  PUBLISH_TAKEOVER: (c, v) => {
    if (v !== 'field' && v !== 'off') throw new ConfigError('PUBLISH_TAKEOVER', v, 'field or off');
    c.ingest.publishTakeover = v;
  },
  TRANSCODE_LADDER: (c, v) => {
    try {
      c.transcode.ladder = parseLadder(v);
    } catch (err) {
      if (err instanceof TranscodeLadderError) throw new ConfigError('TRANSCODE_LADDER', v, `HEIGHTp:BITRATE rungs, comma-separated, e.g. 480p:1200k,240p:400k (${err.reason})`);
      throw err;
    }
  },
  TRANSCODE_MAX_STREAMS: (c, v) => (c.transcode.maxStreams = int('TRANSCODE_MAX_STREAMS', v, 0, 1000)),
  TRANSCODE_MAX_LAG_MS: (c, v) => (c.transcode.maxLagMs = int('TRANSCODE_MAX_LAG_MS', v, 200, 60_000)),
  TRANSCODE_CPU_BUDGET: (c, v) => {
    const cores = Number(v);
    if (v.trim() === '' || !Number.isFinite(cores) || cores <= 0 || cores > 1024) throw new ConfigError('TRANSCODE_CPU_BUDGET', v, 'cores, a number above 0 and at most 1024 (e.g. 1.5)');
    c.transcode.cpuBudget = cores;
  },
  ICE_BIND_ADDRESS: (c, v) => (c.ingest.iceBindAddress = v),
  WHIP_MAX_BITRATE: (c, v) => (c.ingest.whipMaxBitrate = int('WHIP_MAX_BITRATE', v, 100_000, 100_000_000)),
  LOG_LEVEL: (c, v) => {
    const level = LOG_LEVELS.find((l) => l === v);
    if (!level) throw new ConfigError('LOG_LEVEL', v, `one of ${LOG_LEVELS.join(', ')}`);
    c.logLevel = level;
  },
  ICE_SERVERS: (c, v) => (c.iceServers = iceServers(v)),
  TLS_CERT: (c, v) => (c.tls.certPath = readablePath('TLS_CERT', v)),
  TLS_KEY: (c, v) => (c.tls.keyPath = readablePath('TLS_KEY', v)),
  PUBLISH_KEY: (c, v) => {
    if (v.length < MIN_KEY_CHARS) throw new ConfigError('PUBLISH_KEY', HIDDEN, `at least ${MIN_KEY_CHARS} characters`);
    c.access.publish.key = v;
  },
  PUBLISH_KEYS_FILE: (c, v) => {
    try {
      c.access.publish.streamKeys = readPublishKeysFile(v);
    } catch (err) {
      if (err instanceof PublishKeysError) throw new ConfigError('PUBLISH_KEYS_FILE', v, `a readable JSON file of {"stream": "key"} (${err.message})`);
      throw err;
    }
  },
  PUBLISH_SECRET: (c, v) => {
    if (v.length < MIN_SECRET_CHARS) throw new ConfigError('PUBLISH_SECRET', HIDDEN, `at least ${MIN_SECRET_CHARS} characters`);
    c.access.publish.secret = v;
  },
  PUBLISH_AUTH: (c, v) => {
    if (v !== 'auto' && v !== 'off') throw new ConfigError('PUBLISH_AUTH', v, 'auto or off');
    c.access.publish.mode = v;
  },
  METRICS_TOKEN: (c, v) => {
    if (v.length < MIN_KEY_CHARS) throw new ConfigError('METRICS_TOKEN', HIDDEN, `at least ${MIN_KEY_CHARS} characters`);
    c.access.metricsToken = v;
  },
  PLAYBACK_SECRET: (c, v) => {
    if (v.length < MIN_SECRET_CHARS) throw new ConfigError('PLAYBACK_SECRET', HIDDEN, `at least ${MIN_SECRET_CHARS} characters, e.g. \`openssl rand -base64 32\``);
    c.access.playback.secret = v;
  },
  TOKEN_API_KEY: (c, v) => {
    if (v.length < MIN_KEY_CHARS) throw new ConfigError('TOKEN_API_KEY', HIDDEN, `at least ${MIN_KEY_CHARS} characters`);
    c.access.playback.tokenApiKey = v;
  },
  GEO_RULES_FILE: (c, v) => (c.access.playback.geoRulesFile = v),
  TRUSTED_PROXIES: (c, v) => (c.access.playback.trustedProxies = v.split(',').map((s) => s.trim()).filter(Boolean)),
  ICE_PORT_RANGE: (c, v) => {
    const m = /^(\d+)-(\d+)$/.exec(v);
    const begin = Number(m?.[1]);
    const end = Number(m?.[2]);
    if (!m || begin < 1024 || end > 65535 || begin > end) throw new ConfigError('ICE_PORT_RANGE', v, 'BEGIN-END within 1024-65535');
    c.ingest.icePortRangeBegin = begin;
    c.ingest.icePortRangeEnd = end;
  },
  ENCRYPTED_STREAMS: (c, v) => (c.access.encryption.streams = encryptedStreams(v)),
  KEY_ROTATION_SEGMENTS: (c, v) => (c.access.encryption.rotationSegments = int('KEY_ROTATION_SEGMENTS', v, 1, 10_000)),
};

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(key: string, value: string, expected: string) {
    super(`${key}=${JSON.stringify(value)} is invalid: expected ${expected}`);
  }
}

function readablePath(key: string, value: string): string {
  if (!existsSync(value)) throw new ConfigError(key, value, 'the path of an existing PEM file');
  return value;
}

/** Whether only this machine can reach a server listening on `host`. */
function isLoopbackHost(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host.toLowerCase() === 'localhost';
}

function int(key: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new ConfigError(key, value, `an integer from ${min} to ${max}`);
  return n;
}

/** Parses ENCRYPTED_STREAMS: `*` (every stream) or stream names, comma-separated. */
function encryptedStreams(value: string): readonly string[] | '*' {
  if (value.trim() === '*') return '*';
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0 || !names.every(isValidStreamName)) throw new ConfigError('ENCRYPTED_STREAMS', value, '* or comma-separated stream names');
  return names;
}

const ICE_SERVERS_EXPECTED = 'a JSON array of {"urls": "stun:…"|"turn:…"|"turns:…" or an array of them, "username"?, "credential"?}';

/** Parses ICE_SERVERS: what RTCPeerConnection takes as `iceServers`, checked so a typo fails at start, not in every player. */
function iceServers(value: string): IceServer[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError('ICE_SERVERS', value, ICE_SERVERS_EXPECTED);
  }
  if (!Array.isArray(parsed)) throw new ConfigError('ICE_SERVERS', value, ICE_SERVERS_EXPECTED);
  return parsed.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) throw new ConfigError('ICE_SERVERS', value, ICE_SERVERS_EXPECTED);
    const { urls, username, credential, ...rest } = entry as Record<string, unknown>;
    const list = Array.isArray(urls) ? urls : [urls];
    const validUrls = list.length > 0 && list.every((url) => typeof url === 'string' && /^(stun|turns?):[^\s]+$/.test(url));
    const validText = (text: unknown): boolean => text === undefined || typeof text === 'string';
    if (!validUrls || !validText(username) || !validText(credential) || Object.keys(rest).length > 0) {
      throw new ConfigError('ICE_SERVERS', value, ICE_SERVERS_EXPECTED);
    }
    const server: IceServer = { urls: urls as string | string[] };
    if (username !== undefined) server.username = username as string;
    if (credential !== undefined) server.credential = credential as string;
    return server;
  });
}

export function loadConfig(env: NodeJS.ProcessEnv): ServerConfig {
  const config: ServerConfig = structuredClone(DEFAULT_CONFIG);
  for (const [key, apply] of Object.entries(ENVIRONMENT)) {
    const value = env[key];
    if (value !== undefined && value !== '') apply(config, value);
  }
  if (config.media.partTargetMs * 2 > config.media.segmentTargetMs) {
    throw new ConfigError('PART_TARGET_MS', String(config.media.partTargetMs), 'at most half of SEGMENT_TARGET_MS');
  }
  const accessProblem = checkPlaybackAccessConfig(config.access.playback);
  if (accessProblem) throw new ConfigError(accessProblem.key, accessProblem.value, accessProblem.expected);
  if (config.access.playback.tokenApiKey !== undefined && config.access.playback.secret === undefined) {
    throw new ConfigError('TOKEN_API_KEY', HIDDEN, 'PLAYBACK_SECRET set too: the API mints tokens under it');
  }
  if (config.role === 'edge' && config.originUrls.length === 0) {
    throw new ConfigError('ORIGIN_URL', '', 'at least one origin URL when ROLE=edge');
  }
  if ((config.tls.certPath === undefined) !== (config.tls.keyPath === undefined)) {
    throw new ConfigError(config.tls.certPath === undefined ? 'TLS_CERT' : 'TLS_KEY', '', 'set together with the other of TLS_CERT and TLS_KEY');
  }
  const publish = config.access.publish;
  if (publish.mode === 'off' && hasPublishKeys(publish)) {
    throw new ConfigError('PUBLISH_AUTH', 'off', 'unset or auto when a publish key is set (off would ignore it)');
  }
  // An edge takes no publishing; an origin anyone can reach must not let anyone publish without saying so.
  if (config.role !== 'edge' && publish.mode === 'auto' && !hasPublishKeys(publish) && !isLoopbackHost(config.host)) {
    throw new ConfigError(
      'HOST',
      config.host,
      'a loopback address (127.0.0.1, ::1, localhost) while no publish key is set: set PUBLISH_KEY, PUBLISH_KEYS_FILE or ' +
        'PUBLISH_SECRET, or PUBLISH_AUTH=off to let anyone who reaches the server publish',
    );
  }
  return config;
}
