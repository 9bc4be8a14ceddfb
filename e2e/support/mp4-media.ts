// Real media for tests and benches without a browser: ffmpeg-made MP4s, demuxed into samples with mp4box.js.
import { readFile } from 'node:fs/promises';
import { createFile, type ISOFile, type MP4BoxBuffer, type Sample } from 'mp4box';

export interface DemuxedTrack {
  id: number;
  timescale: number;
  codec: string;
  samples: Sample[];
}

export interface DemuxedMp4 {
  file: ISOFile;
  /** The whole file, for reading decoder configuration boxes (see findBoxPayload). */
  bytes: Uint8Array;
  video: DemuxedTrack;
  audio: DemuxedTrack;
}

/** Demuxes an MP4 of one video and one audio track with mp4box.js into its samples. */
export async function demuxMp4(path: string): Promise<DemuxedMp4> {
  const bytes = await readFile(path);
  const file = createFile();
  const samples = new Map<number, Sample[]>();
  const ready = new Promise<DemuxedMp4>((resolve, reject) => {
    file.onError = (_module: string, message: string) => reject(new Error(message));
    file.onReady = (info) => {
      const video = info.videoTracks[0];
      const audio = info.audioTracks[0];
      if (!video || !audio) return reject(new Error('expected one video and one audio track'));
      for (const track of [video, audio]) {
        samples.set(track.id, []);
        file.setExtractionOptions(track.id, undefined, { nbSamples: 100_000 });
      }
      file.onSamples = (id, _user, batch) => samples.get(id)?.push(...batch);
      file.start();
      file.flush();
      const track = (t: typeof video): DemuxedTrack => ({ id: t.id, timescale: t.timescale, codec: t.codec, samples: samples.get(t.id) ?? [] });
      resolve({ file, bytes: new Uint8Array(bytes), video: track(video), audio: track(audio) });
    };
  });
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as MP4BoxBuffer;
  buffer.fileStart = 0;
  file.appendBuffer(buffer);
  file.flush();
  return ready;
}

/**
 * The payload of the first box of this type anywhere in the file (avcC sits inside stsd's sample entry).
 * A scan, not a parse: write the file with its moov first (`-movflags +faststart`) so media bytes cannot match.
 */
export function findBoxPayload(bytes: Uint8Array, type: string): Uint8Array {
  const code = Array.from(type, (c) => c.charCodeAt(0));
  for (let i = 4; i + 4 <= bytes.length; i++) {
    if (code.every((c, k) => bytes[i + k] === c)) {
      const size = new DataView(bytes.buffer, bytes.byteOffset + i - 4, 4).getUint32(0);
      return bytes.slice(i + 4, i - 4 + size);
    }
  }
  throw new Error(`no ${type} box`);
}

/** An Ogg OpusHead as a WebCodecs AudioEncoder may hand it out, rebuilt from the MP4's dOps. */
export function opusHeadFromDOps(dOps: Uint8Array): Uint8Array {
  const view = new DataView(dOps.buffer, dOps.byteOffset, dOps.byteLength);
  const head = new Uint8Array(19);
  const out = new DataView(head.buffer);
  head.set(new TextEncoder().encode('OpusHead'));
  out.setUint8(8, 1);
  out.setUint8(9, view.getUint8(1));
  out.setUint16(10, view.getUint16(2), true);
  out.setUint32(12, view.getUint32(4), true);
  out.setInt16(16, view.getInt16(8), true);
  out.setUint8(18, view.getUint8(10));
  return head;
}

/** The RFC 6381 string of an avcC record: `avc1.` + profile, constraint flags and level as hex. */
export function avcCodecString(avcC: Uint8Array): string {
  const hex = (i: number): string => (avcC[i] ?? 0).toString(16).padStart(2, '0');
  return `avc1.${hex(1)}${hex(2)}${hex(3)}`;
}
