// The LL-HLS conformance checker accepts a conformant live playlist history and flags each rule it knows when broken.
import { describe, expect, it } from 'vitest';
import { checkLivePlaylists, type CheckOptions, type DeliveryRequest, type RuleId } from './checker.ts';
import { readMediaPlaylist } from './media-playlist.ts';

interface Shape {
  /** EXT-X-MEDIA-SEQUENCE. */
  first?: number;
  /** Completed segments (2 s each, ten parts of 0.2 s). */
  complete?: number;
  /** Parts of the segment in progress. */
  inProgress?: number;
  skip?: number;
  version?: number;
  control?: string;
  hint?: boolean;
  ended?: boolean;
  /** Completed segments at the end that still list their parts. */
  withParts?: number;
  reports?: string[];
}

const PDT_BASE_MS = Date.UTC(2024, 0, 1);
const pdt = (msn: number): string => new Date(PDT_BASE_MS + msn * 2000).toISOString();

/** A live playlist shaped like the origin's: 2 s segments of ten 0.2 s parts, the first one independent. */
function playlistText(shape: Shape = {}): string {
  const { first = 100, complete = 6, inProgress = 3, skip, version = skip === undefined ? 6 : 9, hint = true, ended = false, withParts = 1 } = shape;
  const control = shape.control ?? 'CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.60000,HOLD-BACK=6.00000,CAN-SKIP-UNTIL=12.00000';
  const lines = ['#EXTM3U', `#EXT-X-VERSION:${version}`, '#EXT-X-TARGETDURATION:2', `#EXT-X-SERVER-CONTROL:${control}`, '#EXT-X-PART-INF:PART-TARGET=0.20000', `#EXT-X-MEDIA-SEQUENCE:${first}`, '#EXT-X-MAP:URI="init.mp4"'];
  if (skip !== undefined) lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skip}`);
  const parts = (msn: number, count: number): string[] =>
    Array.from({ length: count }, (_, i) => `#EXT-X-PART:DURATION=0.20000,URI="p${msn}.${i}.m4s"${i === 0 ? ',INDEPENDENT=YES' : ''}`);
  for (let msn = first + (skip ?? 0); msn < first + complete; msn++) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${pdt(msn)}`);
    if (msn >= first + complete - withParts) lines.push(...parts(msn, 10));
    lines.push('#EXTINF:2.00000,', `s${msn}.m4s`);
  }
  const live = first + complete;
  if (!ended && (inProgress > 0 || hint)) {
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${pdt(live)}`, ...parts(live, inProgress));
  }
  if (ended) lines.push('#EXT-X-ENDLIST');
  else if (hint) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p${live}.${inProgress}.m4s"`);
  for (const uri of shape.reports ?? []) lines.push(`#EXT-X-RENDITION-REPORT:URI="${uri}",LAST-MSN=${live},LAST-PART=${inProgress - 1}`);
  return lines.join('\n') + '\n';
}

type Snap = { text: string; request?: DeliveryRequest };

function check(snaps: Snap[], options?: CheckOptions) {
  return checkLivePlaylists(
    snaps.map((s) => ({ playlist: readMediaPlaylist(s.text), ...(s.request ? { request: s.request } : {}) })),
    options,
  );
}

function errorRules(snaps: Snap[], options?: CheckOptions): RuleId[] {
  return check(snaps, options).errors.map((v) => v.rule);
}

const good = (shape: Shape = {}): Snap => ({ text: playlistText(shape) });

describe('a conformant live playlist', () => {
  it('passes every rule across reloads, blocking answers and a matching delta update', () => {
    const report = check([
      good(),
      { text: playlistText({ inProgress: 4 }), request: { msn: 106, part: 3 } },
      { text: playlistText({ inProgress: 4, skip: 0 }), request: { msn: 106, part: 3, skip: 'YES' } },
      { text: playlistText({ first: 101, complete: 6, inProgress: 0 }), request: { msn: 106, part: 9 } },
      { text: playlistText({ first: 101, complete: 6, inProgress: 1 }), request: { msn: 107, part: 0 } },
    ]);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report.deltaPairsCompared).toBe(1);
  });
});

describe('durations', () => {
  it('flags a part longer than PART-TARGET', () => {
    expect(errorRules([{ text: playlistText().replace('DURATION=0.20000,URI="p105.3.m4s"', 'DURATION=0.25000,URI="p105.3.m4s"') }])).toContain('part-duration-max');
  });

  it('flags a short part that is neither independent nor the last of its segment, and only that', () => {
    const short = (uri: string): string => playlistText().replace(`DURATION=0.20000,URI="${uri}"`, `DURATION=0.10000,URI="${uri}"`);
    expect(errorRules([{ text: short('p105.3.m4s') }])).toContain('part-duration-min');
    expect(errorRules([{ text: short('p105.0.m4s') }])).not.toContain('part-duration-min');
    expect(errorRules([{ text: short('p105.9.m4s') }])).not.toContain('part-duration-min');
    expect(errorRules([{ text: short('p106.2.m4s') }])).not.toContain('part-duration-min');
  });

  it('flags an EXTINF that rounds above TARGETDURATION', () => {
    expect(errorRules([{ text: playlistText({ withParts: 0 }).replace('#EXTINF:2.00000,\ns103', '#EXTINF:2.60000,\ns103') }])).toEqual(['extinf-target-duration']);
  });

  it('flags a segment whose parts do not add up to its EXTINF', () => {
    expect(errorRules([{ text: playlistText().replace('#EXTINF:2.00000,\ns105', '#EXTINF:2.03300,\ns105') }])).toEqual(['parts-sum-extinf']);
  });
});

describe('server control and version', () => {
  const withControl = (control: string): Snap => good({ control });

  it('requires CAN-BLOCK-RELOAD=YES in a low-latency playlist', () => {
    expect(errorRules([withControl('PART-HOLD-BACK=0.6,HOLD-BACK=6')])).toContain('can-block-reload');
  });

  it('requires PART-HOLD-BACK of at least twice PART-TARGET and recommends three times', () => {
    expect(errorRules([withControl('CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.3')])).toEqual(['part-hold-back']);
    expect(errorRules([withControl('CAN-BLOCK-RELOAD=YES')])).toEqual(['part-hold-back']);
    const report = check([withControl('CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.5')]);
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((w) => w.rule)).toEqual(['part-hold-back-recommended']);
  });

  it('requires HOLD-BACK of three target durations and a skip boundary of six', () => {
    expect(errorRules([withControl('CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,HOLD-BACK=5')])).toEqual(['hold-back']);
    expect(errorRules([withControl('CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6,CAN-SKIP-UNTIL=11')])).toEqual(['skip-boundary-minimum']);
  });

  it('requires EXT-X-VERSION 9 with EXT-X-SKIP and 6 with EXT-X-MAP', () => {
    expect(errorRules([good({ skip: 0, version: 6 })])).toEqual(['version']);
    expect(errorRules([good({ version: 5 })])).toEqual(['version']);
  });

  it('requires EXT-X-PART-INF when parts are listed', () => {
    expect(errorRules([{ text: playlistText().replace('#EXT-X-PART-INF:PART-TARGET=0.20000\n', '') }])).toContain('part-inf-required');
  });
});

describe('preload hints', () => {
  it('flags a hint that names a listed part, a hint in an ended playlist, and warns on two hints', () => {
    expect(errorRules([{ text: playlistText().replace('URI="p106.3.m4s"', 'URI="p106.2.m4s"') }])).toContain('preload-hint-next-part');
    const ended = playlistText({ ended: true }) + '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p106.0.m4s"\n';
    expect(errorRules([{ text: ended }])).toContain('preload-hint-endlist');
    const twice = playlistText() + '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p106.4.m4s"\n';
    expect(check([{ text: twice }]).warnings.map((w) => w.rule)).toContain('preload-hint-single');
  });

  it('flags a hinted URI that later appears somewhere other than right after the last part', () => {
    const hinted = good();
    const later = { text: playlistText({ inProgress: 5 }).replace(/p106\.3\.m4s/g, 'p106.x.m4s').replace('URI="p106.4.m4s"', 'URI="p106.3.m4s"') };
    expect(errorRules([hinted, later])).toContain('preload-hint-next-part');
    expect(errorRules([hinted, good({ inProgress: 5 })])).toEqual([]);
  });
});

describe('reload history', () => {
  it('flags a media sequence that goes back', () => {
    expect(errorRules([good({ first: 101, complete: 5 }), good({ first: 100, complete: 6 })])).toContain('media-sequence-monotonic');
  });

  it('flags a segment, part or program date time that changes between reloads', () => {
    const before = good();
    expect(errorRules([before, { text: before.text.replace('s103.m4s', 's103b.m4s') }])).toEqual(['segment-stable']);
    expect(errorRules([before, { text: before.text.replace('p105.4.m4s"', 'p105.4.m4s",INDEPENDENT=YES') }])).toEqual(['part-stable']);
    expect(errorRules([before, { text: before.text.replace(pdt(103), new Date(PDT_BASE_MS + 103 * 2000 + 100).toISOString()) }])).toEqual(['pdt-stable']);
  });

  it('flags parts removed out of order, not parts removed from the front', () => {
    const before = good({ withParts: 2 });
    const fromFront = good({ withParts: 1 });
    expect(errorRules([before, fromFront])).toEqual([]);
    const fromMiddle = { text: before.text.replace(/#EXT-X-PART:DURATION=0.20000,URI="p105\.\d\.m4s"(,INDEPENDENT=YES)?\n/g, '') };
    expect(errorRules([before, fromMiddle])).toEqual(['part-removal-order']);
  });

  it('warns when parts stay listed more than three target durations from the end', () => {
    expect(check([good({ withParts: 4 })]).warnings.map((w) => w.rule)).toEqual(['part-retention']);
  });
});

describe('blocking reload and delta updates', () => {
  it('flags a blocking reload answered before the requested part exists', () => {
    expect(errorRules([{ text: playlistText(), request: { msn: 106, part: 4 } }])).toEqual(['blocking-satisfied']);
    expect(errorRules([{ text: playlistText(), request: { msn: 106, part: 2 } }])).toEqual([]);
    expect(errorRules([{ text: playlistText(), request: { msn: 107 } }])).toEqual(['blocking-satisfied']);
  });

  it('flags _HLS_skip answered without EXT-X-SKIP, and EXT-X-SKIP without CAN-SKIP-UNTIL', () => {
    // 8 segments + 0.6 s: the first two end more than 12 s before the end, so they must be skipped.
    expect(errorRules([{ text: playlistText({ complete: 8 }), request: { msn: 108, part: 2, skip: 'YES' } }])).toEqual(['skip-honoured']);
    // 3 segments (6.6 s) are all within the 12 s Skip Boundary: the full playlist is the right answer.
    expect(errorRules([{ text: playlistText({ complete: 3 }), request: { msn: 103, part: 2, skip: 'YES' } }])).toEqual([]);
    const unadvertised = good({ skip: 0, control: 'CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.6' });
    expect(errorRules([{ ...unadvertised, request: { skip: 'YES' } }])).toEqual(['skip-unadvertised']);
  });

  it('flags a delta update that disagrees with the full playlist for the same request', () => {
    const request: DeliveryRequest = { msn: 106, part: 2 };
    const full = { text: playlistText(), request };
    const delta = { text: playlistText({ skip: 0 }), request: { ...request, skip: 'YES' as const } };
    expect(check([full, delta]).deltaPairsCompared).toBe(1);
    expect(errorRules([full, { ...delta, text: delta.text.replace('SKIPPED-SEGMENTS=0', 'SKIPPED-SEGMENTS=1') }])).toContain('delta-consistent');
    const changedTail = { ...delta, text: delta.text.replace('p105.7.m4s', 'p105.7b.m4s') };
    expect(errorRules([full, changedTail])).toContain('delta-consistent');
  });

  it('flags a delta update that skips segments within the skip boundary', () => {
    const full = good({ complete: 7 });
    const delta = { text: playlistText({ complete: 7, skip: 3 }), request: { skip: 'YES' as const } };
    expect(errorRules([full, delta])).toEqual(['skip-boundary-respected']);
    const allowed = { text: playlistText({ complete: 7, skip: 2 }), request: { skip: 'YES' as const } };
    expect(errorRules([full, allowed])).toEqual([]);
  });
});

describe('rendition reports', () => {
  it('requires one report for every other rendition and none for unknown ones', () => {
    const options = { otherRenditions: ['../720p/media.m3u8'] };
    expect(errorRules([good()], options)).toEqual(['rendition-report']);
    expect(errorRules([good({ reports: ['../720p/media.m3u8'] })], options)).toEqual([]);
    expect(errorRules([good({ reports: ['../720p/media.m3u8', '../360p/media.m3u8'] })], options)).toEqual(['rendition-report']);
  });
});
