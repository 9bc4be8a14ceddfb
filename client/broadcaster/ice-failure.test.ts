// The message a broadcaster sees when ICE fails: Firefox facing a loopback-only server is told why and what to do.
import { describe, expect, it } from 'vitest';
import { iceFailure } from './errors.ts';
import { candidateAddresses } from './publisher.ts';

const ANSWER = [
  'v=0',
  'o=rtc 1 0 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=application 50000 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 127.0.0.1',
  'a=candidate:1 1 UDP 2122317823 127.0.0.1 50000 typ host',
  'a=candidate:2 1 TCP 2122317822 127.0.0.1 9 typ host tcptype active',
  'a=candidate:3 1 UDP 2122317823 ::1 50001 typ host',
  'a=end-of-candidates',
  '',
].join('\r\n');

describe('candidateAddresses', () => {
  it('reads each candidate address once, in order', () => {
    expect(candidateAddresses(ANSWER)).toEqual(['127.0.0.1', '::1']);
  });

  it('finds none in an SDP without candidates', () => {
    expect(candidateAddresses('v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n')).toEqual([]);
  });
});

describe('iceFailure', () => {
  it('tells a Firefox broadcaster facing a loopback-only server about ICE_BIND_ADDRESS and the about:config pref', () => {
    const err = iceFailure({ streamName: 'cam', firefox: true, serverAddresses: ['127.0.0.1', '::1'] });
    expect(err.code).toBe('connection-failed');
    expect(err.streamName).toBe('cam');
    expect(err.message).toMatch(/Firefox does not make WebRTC connections to a server on this same machine's loopback address \(127\.0\.0\.1\/localhost\) by default/);
    expect(err.message).toContain('ICE_BIND_ADDRESS');
    expect(err.message).toContain('media.peerconnection.ice.loopback');
  });

  it('blames the network when the server offers a reachable address, or the browser is not Firefox', () => {
    for (const ctx of [
      { firefox: true, serverAddresses: ['10.77.0.1'] },
      { firefox: true, serverAddresses: ['127.0.0.1', '192.0.2.7'] },
      { firefox: true, serverAddresses: [] },
      { firefox: false, serverAddresses: ['127.0.0.1'] },
    ]) {
      const err = iceFailure({ streamName: 'cam', ...ctx });
      expect(err.code).toBe('connection-failed');
      expect(err.message).toMatch(/firewall or network problem/);
      expect(err.message).not.toContain('about:config');
    }
  });
});
