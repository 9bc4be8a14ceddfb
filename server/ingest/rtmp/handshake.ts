// The RTMP handshake (simple form, which ffmpeg and OBS accept): C0+C1 in, S0+S1+S2 out, C2 in.
import { randomBytes } from 'node:crypto';
import { RtmpProtocolError } from './errors.ts';

export const RTMP_VERSION = 3;
export const HANDSHAKE_PACKET_BYTES = 1536;
/** C0 (the version byte) and C1. */
export const CLIENT_HELLO_BYTES = 1 + HANDSHAKE_PACKET_BYTES;

/**
 * The server's answer to C0+C1: S0 (version 3), S1 (time 0, four zero bytes: a simple handshake, no digest, random
 * filler) and S2 (C1 echoed). A version other than 3 (6 is RTMPE, encrypted) is refused.
 */
export function serverHello(clientHello: Uint8Array): Uint8Array {
  if (clientHello.byteLength !== CLIENT_HELLO_BYTES) throw new RtmpProtocolError('bad-handshake', `C0+C1 of ${clientHello.byteLength} bytes`);
  const version = clientHello[0];
  if (version !== RTMP_VERSION) throw new RtmpProtocolError('bad-handshake', `RTMP version ${version} (only plain RTMP, version ${RTMP_VERSION})`);
  const out = new Uint8Array(1 + 2 * HANDSHAKE_PACKET_BYTES);
  out[0] = RTMP_VERSION;
  out.set(randomBytes(HANDSHAKE_PACKET_BYTES - 8), 1 + 8);
  out.set(clientHello.subarray(1), 1 + HANDSHAKE_PACKET_BYTES);
  return out;
}
