// The README's configuration table and the code's defaults cannot drift apart; bad values are refused at start.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, ENVIRONMENT, loadConfig, type ServerConfig } from './config.ts';

const DEFAULT_OF: Record<string, (c: ServerConfig) => string> = {
  ROLE: (c) => c.role,
  PORT: (c) => String(c.port),
  HOST: (c) => c.host,
  RTMP_PORT: (c) => String(c.rtmpPort ?? 'off'),
  ORIGIN_URL: (c) => (c.originUrls.length ? c.originUrls.join(',') : '—'),
  EDGE_CACHE_MAX_MB: (c) => String(c.edge.cacheMaxBytes / 1024 / 1024),
  EDGE_UPSTREAM_TIMEOUT_MS: (c) => (c.edge.upstreamTimeoutMs === undefined ? 'derived' : String(c.edge.upstreamTimeoutMs)),
  PART_TARGET_MS: (c) => String(c.media.partTargetMs),
  SEGMENT_TARGET_MS: (c) => String(c.media.segmentTargetMs),
  WINDOW_SEGMENTS: (c) => String(c.media.windowSegments),
  MAX_STREAMS: (c) => String(c.ingest.maxStreams),
  MAX_PUBLISHES_PER_MINUTE: (c) => String(c.ingest.maxPublishesPerMinute),
  PUBLISH_IDLE_TIMEOUT_MS: (c) => String(c.ingest.idleTimeoutMs),
  PUBLISH_GRACE_MS: (c) => String(c.ingest.publishGraceMs),
  PUBLISH_TAKEOVER: (c) => c.ingest.publishTakeover,
  ICE_BIND_ADDRESS: (c) => c.ingest.iceBindAddress,
  ICE_PORT_RANGE: (c) => (c.ingest.icePortRangeBegin ? `${c.ingest.icePortRangeBegin}-${c.ingest.icePortRangeEnd}` : 'any'),
  ICE_SERVERS: (c) => JSON.stringify(c.iceServers),
  LOG_LEVEL: (c) => c.logLevel,
  SRT_PORT: (c) => String(c.srtPort),
  SRT_PASSPHRASE: (c) => c.srtPassphrase ?? '—',
  TLS_CERT: (c) => c.tls.certPath ?? '—',
  TLS_KEY: (c) => c.tls.keyPath ?? '—',
  PUBLISH_KEY: (c) => c.access.publish.key ?? '—',
  PUBLISH_KEYS_FILE: (c) => (Object.keys(c.access.publish.streamKeys).length ? 'set' : '—'),
  PUBLISH_SECRET: (c) => c.access.publish.secret ?? '—',
  PUBLISH_AUTH: (c) => c.access.publish.mode,
  METRICS_TOKEN: (c) => c.access.metricsToken ?? '—',
  ENCRYPTED_STREAMS: (c) => (c.access.encryption.streams.length === 0 ? '—' : String(c.access.encryption.streams)),
  KEY_ROTATION_SEGMENTS: (c) => String(c.access.encryption.rotationSegments),
  WHIP_MAX_BITRATE: (c) => String(c.ingest.whipMaxBitrate),
  TRANSCODE_LADDER: (c) => (c.transcode.ladder.length ? c.transcode.ladder.map((r) => `${r.rendition}:${r.bitrate / 1000}k`).join(',') : '—'),
  TRANSCODE_MAX_STREAMS: (c) => String(c.transcode.maxStreams),
  TRANSCODE_MAX_LAG_MS: (c) => String(c.transcode.maxLagMs),
  TRANSCODE_CPU_BUDGET: (c) => String(c.transcode.cpuBudget ?? '—'),
};

function readmeTable(): Map<string, string> {
  const readme = readFileSync(resolve(import.meta.dirname, '../README.md'), 'utf8');
  const section = readme.split('## Configuration')[1]!.split('\n## ')[0]!;
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| ([^|]+) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.trim().replace(/`/g, ''));
  }
  return rows;
}

describe('configuration', () => {
  it('documents every environment variable in the README with the default the code uses', () => {
    const rows = readmeTable();
    expect([...rows.keys()].sort()).toEqual(Object.keys(ENVIRONMENT).sort());
    for (const [key, read] of Object.entries(DEFAULT_OF)) {
      expect(rows.get(key), key).toBe(read(DEFAULT_CONFIG));
    }
  });

  it('applies environment overrides', () => {
    const config = loadConfig({ PORT: '9000', PART_TARGET_MS: '250', ICE_PORT_RANGE: '40000-40100', ROLE: 'origin', LOG_LEVEL: 'warn' });
    expect(config.logLevel).toBe('warn');
    expect(config.port).toBe(9000);
    expect(config.media.partTargetMs).toBe(250);
    expect(config.ingest.icePortRangeBegin).toBe(40000);
    expect(config.role).toBe('origin');
    const edge = loadConfig({ ROLE: 'edge', ORIGIN_URL: 'http://127.0.0.1:9001, http://127.0.0.1:9002', EDGE_CACHE_MAX_MB: '64' });
    expect(edge.originUrls).toEqual(['http://127.0.0.1:9001', 'http://127.0.0.1:9002']);
    expect(edge.edge.cacheMaxBytes).toBe(64 * 1024 * 1024);
    expect(DEFAULT_CONFIG.port).toBe(8080);
    expect(loadConfig({ RTMP_PORT: '19350' }).rtmpPort).toBe(19350);
    expect(loadConfig({ RTMP_PORT: '0' }).rtmpPort).toBe(0);
    expect(loadConfig({ RTMP_PORT: 'off' }).rtmpPort).toBeUndefined();
    expect(DEFAULT_CONFIG.srtPort).toBe(8890);
    expect(loadConfig({ SRT_PORT: '0' }).srtPort).toBe(0);
    expect(loadConfig({ SRT_PORT: 'off' }).srtPort).toBeUndefined();
    expect(loadConfig({ SRT_PASSPHRASE: 'ten chars!' }).srtPassphrase).toBe('ten chars!');
  });

  it('refuses invalid values with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT="eighty"/);
    expect(() => loadConfig({ ROLE: 'cdn' })).toThrow(/ROLE/);
    expect(() => loadConfig({ SRT_PORT: '70000' })).toThrow(/SRT_PORT/);
    expect(() => loadConfig({ SRT_PASSPHRASE: 'too short' })).toThrow(/SRT_PASSPHRASE="\(hidden\)"/);
    expect(() => loadConfig({ SRT_PASSPHRASE: 'x'.repeat(80) })).toThrow(/SRT_PASSPHRASE/);
    expect(() => loadConfig({ PART_TARGET_MS: '1000', SEGMENT_TARGET_MS: '1500' })).toThrow(/half/);
    expect(() => loadConfig({ ROLE: 'edge' })).toThrow(/ORIGIN_URL/);
    expect(() => loadConfig({ ROLE: 'edge', ORIGIN_URL: 'ftp://origin' })).toThrow(/ORIGIN_URL/);
    expect(() => loadConfig({ ROLE: 'edge', ORIGIN_URL: 'https://origin/live/' })).toThrow(/ORIGIN_URL/);
    expect(loadConfig({ ROLE: 'edge', ORIGIN_URL: 'https://origin.example:8443, http://127.0.0.1:8080' }).originUrls).toEqual(['https://origin.example:8443', 'http://127.0.0.1:8080']);
    expect(() => loadConfig({ EDGE_UPSTREAM_TIMEOUT_MS: '10' })).toThrow(/EDGE_UPSTREAM_TIMEOUT_MS/);
    expect(() => loadConfig({ ICE_PORT_RANGE: '5-2' })).toThrow(/ICE_PORT_RANGE/);
    expect(() => loadConfig({ RTMP_PORT: '70000' })).toThrow(/RTMP_PORT="70000"/);
    expect(() => loadConfig({ LOG_LEVEL: 'verbose' })).toThrow(/LOG_LEVEL="verbose".*debug, info, warn, error/);
  });

  it('reads the playback access settings and refuses bad ones at start without echoing secrets', () => {
    const secret = 'x'.repeat(32);
    const config = loadConfig({ PLAYBACK_SECRET: secret, TOKEN_API_KEY: 'k'.repeat(16), TRUSTED_PROXIES: '127.0.0.1, 10.0.0.0/8' });
    expect(config.access.playback).toMatchObject({ secret, tokenApiKey: 'k'.repeat(16), trustedProxies: ['127.0.0.1', '10.0.0.0/8'] });
    expect(loadConfig({}).access.playback).toEqual({ secret: undefined, geoRulesFile: undefined, trustedProxies: [], tokenApiKey: undefined });
    expect(() => loadConfig({ PLAYBACK_SECRET: 'short-secret' })).toThrow(/PLAYBACK_SECRET="\(hidden\)".*32 characters/);
    expect(() => loadConfig({ TOKEN_API_KEY: 'k'.repeat(16) })).toThrow(/TOKEN_API_KEY.*PLAYBACK_SECRET/);
    expect(() => loadConfig({ TRUSTED_PROXIES: '127.0.0.1, proxy.example' })).toThrow(/TRUSTED_PROXIES=.*proxy\.example/);
    expect(() => loadConfig({ GEO_RULES_FILE: '/nonexistent/rules.json' })).toThrow(/GEO_RULES_FILE=.*readable JSON/);
  });

it('refuses to start on a non-loopback HOST without publish keys unless PUBLISH_AUTH=off, and never prints a key', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST="0.0.0.0".*PUBLISH_KEY.*PUBLISH_AUTH=off/);
    expect(loadConfig({ HOST: '0.0.0.0', PUBLISH_AUTH: 'off' }).access.publish.mode).toBe('off');
    expect(loadConfig({ HOST: '0.0.0.0', PUBLISH_KEY: 'a-key-long-enough-1' }).access.publish.key).toBe('a-key-long-enough-1');
    expect(loadConfig({ HOST: '::1' }).host).toBe('::1');
    // An edge publishes nothing.
    expect(loadConfig({ HOST: '0.0.0.0', ROLE: 'edge', ORIGIN_URL: 'http://127.0.0.1:9001' }).role).toBe('edge');
    expect(() => loadConfig({ PUBLISH_AUTH: 'off', PUBLISH_KEY: 'a-key-long-enough-1' })).toThrow(/PUBLISH_AUTH/);
    expect(() => loadConfig({ PUBLISH_AUTH: 'none' })).toThrow(/PUBLISH_AUTH="none"/);
    expect(loadConfig({ PUBLISH_TAKEOVER: 'off' }).ingest.publishTakeover).toBe('off');
    expect(() => loadConfig({ PUBLISH_TAKEOVER: 'all' })).toThrow(/PUBLISH_TAKEOVER="all".*field or off/);
    for (const [key, value] of [['PUBLISH_KEY', 'short-key'], ['PUBLISH_SECRET', 'a-secret-under-32-chars'], ['METRICS_TOKEN', 'short-token']] as const) {
      expect(() => loadConfig({ [key]: value }), key).toThrow(new RegExp(`${key}="\\(hidden\\)"`));
      expect(() => loadConfig({ [key]: value }), key).not.toThrow(new RegExp(value));
    }
    expect(() => loadConfig({ TLS_CERT: '/nonexistent/cert.pem', TLS_KEY: '/nonexistent/key.pem' })).toThrow(/TLS_CERT/);
    expect(() => loadConfig({ TLS_CERT: import.meta.filename })).toThrow(/TLS_KEY.*together/);
  });

  it('reads ENCRYPTED_STREAMS as stream names or * and KEY_ROTATION_SEGMENTS as a segment count, off by default', () => {
    expect(loadConfig({}).access.encryption).toEqual({ streams: [], rotationSegments: 10 });
    expect(loadConfig({ ENCRYPTED_STREAMS: 'news, sport', KEY_ROTATION_SEGMENTS: '3' }).access.encryption).toEqual({ streams: ['news', 'sport'], rotationSegments: 3 });
    expect(loadConfig({ ENCRYPTED_STREAMS: '*' }).access.encryption.streams).toBe('*');
    expect(() => loadConfig({ ENCRYPTED_STREAMS: 'News!' })).toThrow(/ENCRYPTED_STREAMS="News!"/);
    expect(() => loadConfig({ ENCRYPTED_STREAMS: ' , ' })).toThrow(/ENCRYPTED_STREAMS/);
    expect(() => loadConfig({ KEY_ROTATION_SEGMENTS: '0' })).toThrow(/KEY_ROTATION_SEGMENTS="0"/);
    // The defaults are not shared with a loaded configuration.
    expect(DEFAULT_CONFIG.access.encryption.streams).toEqual([]);
  });

  it('reads ICE_SERVERS as RTCPeerConnection takes them and refuses anything else at start', () => {
    const servers = [{ urls: 'stun:127.0.0.1:3478' }, { urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:relay.example:5349'], username: 'u', credential: 'p' }];
    expect(loadConfig({ ICE_SERVERS: JSON.stringify(servers) }).iceServers).toEqual(servers);
    expect(loadConfig({}).iceServers).toEqual([]);
    for (const bad of ['stun:x', '{"urls":"stun:x"}', '[{"urls":"http://x"}]', '[{"urls":[]}]', '[{"urls":"stun:x","username":1}]', '[{"url":"stun:x"}]', '[null]']) {
      expect(() => loadConfig({ ICE_SERVERS: bad }), bad).toThrow(/ICE_SERVERS=.*JSON array/);
    }
  });
});
