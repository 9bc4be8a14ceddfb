// Playback tokens: what is minted verifies to its claims, and expired, forged, tampered and malformed tokens are refused;
// verified tokens are remembered (bounded), forged ones never are.
import { describe, expect, it } from 'vitest';
import { PlaybackAccessError } from '../playback-errors.ts';
import { mintPlaybackToken, parseNetwork, playbackKey, PlaybackTokenVerifier } from '../playback-token.ts';

const KEY = playbackKey('a-test-secret-of-at-least-32-bytes!!');
const OTHER_KEY = playbackKey('another-secret-of-at-least-32-bytes!');

async function refusal(promise: Promise<unknown>): Promise<PlaybackAccessError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PlaybackAccessError);
  return err as PlaybackAccessError;
}

describe('playback tokens', () => {
  it('verifies a minted token to its stream, expiry, network and country', async () => {
    const nowMs = Date.now();
    const token = await mintPlaybackToken(KEY, { stream: 'demo', ttlS: 60, ip: '203.0.113.0/24', country: 'GB', nowMs });
    const { claims, network, service } = await new PlaybackTokenVerifier(KEY).verify(token, nowMs);
    expect(claims).toEqual({ stream: 'demo', expiresAtS: Math.floor(nowMs / 1000) + 60, ip: '203.0.113.0/24', country: 'GB' });
    expect(network?.check('203.0.113.9', 'ipv4')).toBe(true);
    expect(network?.check('198.51.100.1', 'ipv4')).toBe(false);
    expect(service).toBe(false);
  });

  it('refuses expired, forged, tampered and malformed tokens with 403', async () => {
    const verifier = new PlaybackTokenVerifier(KEY);
    const expired = await mintPlaybackToken(KEY, { stream: 'demo', ttlS: 10, nowMs: Date.now() - 60_000 });
    const forged = await mintPlaybackToken(OTHER_KEY, { stream: 'demo', ttlS: 60 });
    const good = await mintPlaybackToken(KEY, { stream: 'demo', ttlS: 60 });
    const [header, payload, signature] = good.split('.');
    const otherPayload = Buffer.from(JSON.stringify({ sub: 'other', exp: 9_999_999_999 })).toString('base64url');
    const cases = { expired, forged, tampered: `${header}.${otherPayload}.${signature}`, malformed: 'not-a-token', unsigned: `${header}.${payload}.` };
    for (const [name, token] of Object.entries(cases)) {
      const err = await refusal(verifier.verify(token));
      expect([name, err.status]).toEqual([name, 403]);
      expect(err.reason).toBe(name === 'expired' ? 'token expired' : 'invalid token');
    }
    expect(verifier.size).toBe(0);
  });

  it('remembers verified tokens up to its capacity and still refuses one that expired since', async () => {
    const verifier = new PlaybackTokenVerifier(KEY, 2);
    const nowMs = Date.now();
    const tokens = await Promise.all(['a', 'b', 'c'].map((stream) => mintPlaybackToken(KEY, { stream, ttlS: 5, nowMs })));
    for (const token of tokens) await verifier.verify(token, nowMs);
    expect(verifier.size).toBe(2);
    expect((await refusal(verifier.verify(tokens[2]!, nowMs + 6_000))).reason).toBe('token expired');
  });

  it('refuses to mint what it could not verify: bad stream, ttl, network or country', async () => {
    for (const options of [
      { stream: 'BAD NAME', ttlS: 60 },
      { stream: 'demo', ttlS: 0 },
      { stream: 'demo', ttlS: 86_401 },
      { stream: 'demo', ttlS: 60, ip: '300.1.1.1' },
      { stream: 'demo', ttlS: 60, ip: '10.0.0.0/33' },
      { stream: 'demo', ttlS: 60, country: 'gb' },
    ]) {
      expect((await refusal(mintPlaybackToken(KEY, options))).status, JSON.stringify(options)).toBe(400);
    }
    expect(() => playbackKey('short')).toThrow(/at least 32 bytes/);
  });

  it('parses addresses and CIDRs of both families', () => {
    expect(parseNetwork('10.1.2.3')).toEqual(['10.1.2.3', 32, 'ipv4']);
    expect(parseNetwork('2001:db8::/32')).toEqual(['2001:db8::', 32, 'ipv6']);
    for (const bad of ['', '10.0.0.0/', '10.0.0.0/x', 'host', '10.0.0.0/8/8', '::/129']) expect(parseNetwork(bad), bad).toBeNull();
  });
});
