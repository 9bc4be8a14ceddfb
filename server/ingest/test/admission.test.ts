// The ingest's admission checks: SDP offers, the publish rate limit.
import { describe, expect, it } from 'vitest';
import { IngestError } from '../errors.ts';
import { PublishRateLimit } from '../rate-limit.ts';
import { validateOffer } from '../sdp-offer.ts';

const OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 00:11',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
].join('\n');

function reasonOf(body: string): string {
  try {
    validateOffer('s', body);
  } catch (err) {
    expect(err).toBeInstanceOf(IngestError);
    expect((err as IngestError).status).toBe(400);
    return (err as Error).message;
  }
  return 'accepted';
}

describe('SDP offer validation', () => {
  it('accepts a data-channel offer and normalises line endings to CRLF', () => {
    const sdp = validateOffer('s', OFFER);
    expect(sdp.startsWith('v=0\r\no=')).toBe(true);
    expect(sdp.endsWith('\r\n')).toBe(true);
  });

  it('refuses offers that cannot be a WebRTC data-channel offer, saying why', () => {
    expect(reasonOf('hello')).toMatch(/v=0/);
    expect(reasonOf('v=0\nnonsense')).toMatch(/not <type>=<value>/);
    expect(reasonOf(OFFER.replace('webrtc-datachannel', 'RTP/AVP 0').replace('m=application', 'm=audio'))).toMatch(/no data channel/);
    expect(reasonOf(OFFER.replace(/a=ice-ufrag:.*\n/, ''))).toMatch(/ICE/);
    expect(reasonOf(OFFER.replace(/a=fingerprint:.*\n/, ''))).toMatch(/fingerprint/);
  });
});

describe('publish rate limit', () => {
  it('allows the configured number per window and per address, then refuses until the window slides', () => {
    const limit = new PublishRateLimit(3, 60_000);
    expect([0, 1, 2].map((i) => limit.allow('a', 1000 + i))).toEqual([true, true, true]);
    expect(limit.allow('a', 1003)).toBe(false);
    expect(limit.allow('b', 1003)).toBe(true);
    expect(limit.allow('a', 61_001)).toBe(true);
  });
});
