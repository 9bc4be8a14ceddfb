// Reads a WHIP offer (RFC 9725: one SDP offer, media sections only) for what the answer needs: which H.264 and Opus formats to receive, in which sections.
import { IngestError } from '../errors.ts';

export interface MediaChoice {
  mid: string;
  payloadType: number;
  /** The offer's fmtp line for the format (the answer repeats it), empty when there is none. */
  fmtp: string;
}

export interface WhipOffer {
  /** The offer with CRLF line ends, as the engine reads it. */
  sdp: string;
  video: MediaChoice;
  audio: MediaChoice | undefined;
}

/**
 * H.264 profile-level-ids, most wanted first: Constrained Baseline (what OBS and Chromium send by default), Baseline,
 * Main, High; any other profile the offer carries with packetization-mode=1 comes after them.
 */
const H264_PROFILE_PREFERENCE = ['42e0', '4200', '4d00', '6400'];

/** Parses and checks the offer; throws IngestError('bad-offer') with the reason a WHIP client can act on. */
export function readWhipOffer(streamName: string, body: string): WhipOffer {
  const sdp = body.replace(/\r?\n/g, '\r\n').trim() + '\r\n';
  const fail = (reason: string): never => {
    throw new IngestError('bad-offer', streamName, `malformed WHIP offer: ${reason}`);
  };
  if (!sdp.startsWith('v=0\r\n')) fail('it must start with v=0');
  const lines = sdp.split('\r\n').filter((line) => line.length > 0);
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) fail(`line "${line.slice(0, 40)}" is not <type>=<value>`);
  }
  if (!lines.some((line) => line.startsWith('a=ice-ufrag:'))) fail('no ICE credentials (a=ice-ufrag)');
  if (!lines.some((line) => line.startsWith('a=fingerprint:'))) fail('no DTLS fingerprint (a=fingerprint)');
  const sections: string[][] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([line]);
    else sections.at(-1)?.push(line);
  }
  const videos = sections.filter((s) => s[0]!.startsWith('m=video '));
  const audios = sections.filter((s) => s[0]!.startsWith('m=audio '));
  if (videos.length !== 1) fail(`${videos.length} video sections (one H.264 video is published)`);
  if (audios.length > 1) fail(`${audios.length} audio sections (at most one)`);
  if (sections.length !== videos.length + audios.length) fail('a section other than audio and video');
  if (sections.some((s) => s.some((line) => line.startsWith('a=simulcast:')))) fail('simulcast (one encoding per track is published)');
  const video = chooseH264(videos[0]!, fail);
  const audio = audios[0] && chooseOpus(audios[0], fail);
  return { sdp, video, audio };
}

function midOf(section: string[], fail: (reason: string) => never): string {
  const mid = section.find((line) => line.startsWith('a=mid:'))?.slice('a=mid:'.length).trim();
  return mid || fail(`the ${section[0]!.split(' ')[0]} section has no a=mid`);
}

/** Payload type → [encoding name, fmtp] of a section's formats. */
function formats(section: string[]): Map<number, { name: string; fmtp: string }> {
  const out = new Map<number, { name: string; fmtp: string }>();
  for (const line of section) {
    const rtpmap = /^a=rtpmap:(\d+) ([^/\s]+)\//.exec(line);
    if (rtpmap) out.set(Number(rtpmap[1]), { name: rtpmap[2]!.toLowerCase(), fmtp: out.get(Number(rtpmap[1]))?.fmtp ?? '' });
  }
  for (const line of section) {
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line);
    const format = fmtp && out.get(Number(fmtp[1]));
    if (format) format.fmtp = fmtp[2]!.trim();
  }
  return out;
}

function chooseH264(section: string[], fail: (reason: string) => never): MediaChoice {
  const candidates = [...formats(section)]
    .filter(([, f]) => f.name === 'h264' && /(^|;)\s*packetization-mode=1\b/.test(f.fmtp))
    .map(([payloadType, f]) => {
      const profile = /profile-level-id=([0-9a-f]{6})/i.exec(f.fmtp)?.[1]?.toLowerCase() ?? '42001f';
      const rank = H264_PROFILE_PREFERENCE.indexOf(profile.slice(0, 4));
      return { payloadType, fmtp: f.fmtp, rank: rank < 0 ? H264_PROFILE_PREFERENCE.length : rank };
    })
    .sort((a, b) => a.rank - b.rank);
  const best = candidates[0] ?? fail('the video section offers no H.264 with packetization-mode=1');
  return { mid: midOf(section, fail), payloadType: best.payloadType, fmtp: best.fmtp };
}

function chooseOpus(section: string[], fail: (reason: string) => never): MediaChoice {
  const opus = [...formats(section)].find(([, f]) => f.name === 'opus') ?? fail('the audio section offers no Opus');
  return { mid: midOf(section, fail), payloadType: opus[0], fmtp: opus[1].fmtp };
}
