import { describe, expect, it } from 'vitest';
import { IngestError } from '../../errors.ts';
import { readWhipOffer } from '../whip-offer.ts';

/** The shape of Chromium's offer for a camera and a microphone (trimmed to what the reader looks at). */
const CHROMIUM_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:0123456789abcdefghijklmn',
  'a=fingerprint:sha-256 00:11:22',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9',
  'a=mid:0',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=rtpmap:9 G722/8000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102 104 108 116',
  'a=mid:1',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:104 H264/90000',
  'a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f',
  'a=rtpmap:108 H264/90000',
  'a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:116 H264/90000',
  'a=fmtp:116 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f',
  '',
].join('\n');

describe('readWhipOffer', () => {
  it('picks Constrained Baseline H.264 with packetization-mode=1 and Opus, with their sections, and normalises line ends', () => {
    const offer = readWhipOffer('cam', CHROMIUM_OFFER);
    expect(offer.video).toEqual({ mid: '1', payloadType: 108, fmtp: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' });
    expect(offer.audio).toEqual({ mid: '0', payloadType: 111, fmtp: 'minptime=10;useinbandfec=1' });
    expect(offer.sdp).toContain('\r\na=mid:1\r\n');
  });

  it('takes a video-only offer', () => {
    const videoOnly = CHROMIUM_OFFER.replace(/m=audio[\s\S]*?(?=m=video)/, '');
    expect(readWhipOffer('cam', videoOnly).audio).toBeUndefined();
  });

  it.each([
    ['not SDP', 'hello', /must start with v=0/],
    ['no H.264 with packetization-mode=1', CHROMIUM_OFFER.replace(/packetization-mode=1/g, 'packetization-mode=0'), /no H\.264 with packetization-mode=1/],
    ['audio without Opus', CHROMIUM_OFFER.replace('opus/48000/2', 'PCMU/8000'), /no Opus/],
    ['no video', CHROMIUM_OFFER.replace(/m=video[\s\S]*$/, ''), /0 video sections/],
    ['a data channel section', `${CHROMIUM_OFFER}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=mid:2\n`, /other than audio and video/],
    ['simulcast', `${CHROMIUM_OFFER}a=simulcast:send f;h\n`, /simulcast/],
    ['no DTLS fingerprint', CHROMIUM_OFFER.replace(/a=fingerprint.*\n/, ''), /fingerprint/],
  ])('refuses %s with a 400 and the reason', (_, body, reason) => {
    let error: unknown;
    try {
      readWhipOffer('cam', body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).status).toBe(400);
    expect((error as IngestError).message).toMatch(reason);
  });
});
