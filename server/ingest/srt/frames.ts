// The pipe protocol between the origin and srt-listener.c (pure): frames it writes on stdout, command lines Node writes on its stdin.
import { concatBytes } from '../../../shared/bytes.ts';

export type ListenerFrameType = 'ready' | 'request' | 'open' | 'failed' | 'data' | 'closed' | 'log';

export interface ListenerFrame {
  type: ListenerFrameType;
  /** The SRT socket id of the connection (0 for ready and log). */
  id: number;
  payload: Uint8Array;
}

/** The listener broke its own protocol: the origin restarts it. */
export class ListenerProtocolError extends Error {
  override name = 'ListenerProtocolError';
}

const TYPES: Record<number, ListenerFrameType> = {
  0x50: 'ready', // P
  0x52: 'request', // R
  0x4f: 'open', // O
  0x46: 'failed', // F
  0x44: 'data', // D
  0x43: 'closed', // C
  0x4c: 'log', // L
};
const HEADER_BYTES = 9;
/** Larger than any frame the listener writes (an SRT message is at most 1456 bytes; a request at most ~560). */
const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Cuts the listener's stdout into frames; payloads of data frames are views of the chunks, copied only when split. */
export class FrameReader {
  #pending: Uint8Array = new Uint8Array(0);

  *push(chunk: Uint8Array): Generator<ListenerFrame> {
    const bytes = this.#pending.byteLength === 0 ? chunk : concatBytes([this.#pending, chunk]);
    let at = 0;
    while (bytes.byteLength - at >= HEADER_BYTES) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
      const type = TYPES[view.getUint8(0)];
      const length = view.getUint32(5);
      if (type === undefined) throw new ListenerProtocolError(`unknown frame type 0x${view.getUint8(0).toString(16)}`);
      if (length > MAX_PAYLOAD_BYTES) throw new ListenerProtocolError(`a ${length}-byte frame`);
      if (bytes.byteLength - at < HEADER_BYTES + length) break;
      const payload = bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length);
      at += HEADER_BYTES + length;
      yield { type, id: view.getUint32(1), payload };
    }
    // The rest is copied, so the consumer may keep payloads of the chunk it was handed.
    this.#pending = bytes.slice(at);
  }
}

/** A request frame's payload: the caller's address (`ip:port`) and its streamid. */
export function parseRequest(payload: Uint8Array): { address: string; streamId: string } {
  const length = payload[0] ?? 0;
  if (payload.byteLength < 1 + length) throw new ListenerProtocolError('a truncated request frame');
  const decoder = new TextDecoder();
  return { address: decoder.decode(payload.subarray(1, 1 + length)), streamId: decoder.decode(payload.subarray(1 + length)) };
}

/** The `ip` of an `ip:port` the listener reports (IPv6 addresses have colons of their own). */
export function hostOf(address: string): string {
  const colon = address.lastIndexOf(':');
  return colon < 0 ? address : address.slice(0, colon);
}

export const acceptCommand = (id: number, passphrase: string | undefined): string => `A ${id}${passphrase ? ` ${passphrase}` : ''}\n`;
export const rejectCommand = (id: number, code: number): string => `J ${id} ${code}\n`;
export const closeCommand = (id: number): string => `K ${id}\n`;
