// Checks that a publish request body is an SDP offer for a WebRTC data channel before the engine sees it.
import { IngestError } from './errors.ts';

/** Returns the offer text, or throws IngestError('bad-offer') with the reason. */
export function validateOffer(streamName: string, body: string): string {
  const sdp = body.replace(/\r?\n/g, '\r\n').trim() + '\r\n';
  const fail = (reason: string): never => {
    throw new IngestError('bad-offer', streamName, `malformed SDP offer: ${reason}`);
  };
  if (!sdp.startsWith('v=0\r\n')) fail('it must start with v=0');
  const lines = sdp.split('\r\n').filter((line) => line.length > 0);
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) fail(`line "${line.slice(0, 40)}" is not <type>=<value>`);
  }
  const media = lines.filter((line) => line.startsWith('m='));
  if (!media.some((line) => line.startsWith('m=application ') && line.includes('webrtc-datachannel'))) {
    fail('no data channel (m=application … webrtc-datachannel) section');
  }
  if (!lines.some((line) => line.startsWith('a=ice-ufrag:'))) fail('no ICE credentials (a=ice-ufrag)');
  if (!lines.some((line) => line.startsWith('a=fingerprint:'))) fail('no DTLS fingerprint (a=fingerprint)');
  return sdp;
}
