// The streamid forms an SRT publisher may send, and the rejection code each bad one gets.
import { describe, expect, it } from 'vitest';
import { parseStreamId, SRT_REJECT, SrtStreamIdError } from '../stream-id.ts';

function codeOf(streamId: string): number {
  try {
    parseStreamId(streamId);
  } catch (err) {
    if (err instanceof SrtStreamIdError) return err.code;
    throw err;
  }
  throw new Error(`"${streamId}" was accepted`);
}

describe('parseStreamId', () => {
  it('reads publish:NAME and publish:NAME:KEY (the key is everything after the second colon)', () => {
    expect(parseStreamId('publish:demo')).toEqual({ streamName: 'demo', key: undefined });
    expect(parseStreamId('publish:demo:s3cret-key')).toEqual({ streamName: 'demo', key: 's3cret-key' });
    expect(parseStreamId('publish:demo:user:pass')).toEqual({ streamName: 'demo', key: 'user:pass' });
    expect(parseStreamId('publish:demo:')).toEqual({ streamName: 'demo', key: undefined });
  });

  it("reads SRT's access-control form with key= (or s=, as MediaMTX sends it)", () => {
    expect(parseStreamId('#!::r=demo,m=publish')).toEqual({ streamName: 'demo', key: undefined });
    expect(parseStreamId('#!::m=publish,r=cam-2,key=abc.def.ghi')).toEqual({ streamName: 'cam-2', key: 'abc.def.ghi' });
    expect(parseStreamId('#!::r=demo,m=publish,u=alice,s=the-key,t=stream')).toEqual({ streamName: 'demo', key: 'the-key' });
    expect(parseStreamId('#!::r=demo,m=publish,key=k1,s=session')).toEqual({ streamName: 'demo', key: 'k1' });
  });

  it('reads the transcoding choice: a query on the colon form, a field (rungs separated by /) in the access-control form', () => {
    expect(parseStreamId('publish:demo?transcode=off')).toEqual({ streamName: 'demo', key: undefined, transcode: 'off' });
    expect(parseStreamId('publish:demo:s3cret?transcode=480p:1200k,240p:400k')).toEqual({ streamName: 'demo', key: 's3cret', transcode: '480p:1200k,240p:400k' });
    expect(parseStreamId('publish:demo:user:pass?transcode=240p%3A300k')).toEqual({ streamName: 'demo', key: 'user:pass', transcode: '240p:300k' });
    expect(parseStreamId('#!::r=demo,m=publish,key=k1,transcode=off')).toEqual({ streamName: 'demo', key: 'k1', transcode: 'off' });
    expect(parseStreamId('#!::r=demo,m=publish,transcode=480p:1200k/240p:400k')).toEqual({ streamName: 'demo', key: undefined, transcode: '480p:1200k,240p:400k' });
    // No choice: the server's ladder applies.
    expect(parseStreamId('publish:demo:k1').transcode).toBeUndefined();
    expect(parseStreamId('#!::r=demo,m=publish,key=k1').transcode).toBeUndefined();
    // Only transcode in the query, once; the value itself is the transcoder's to read.
    for (const bad of ['publish:demo:k1?x=1', 'publish:demo?transcode=off&transcode=240p:300k', 'publish:demo:k1?key=k2', '#!::r=demo,m=publish,transcode=off,transcode=off']) {
      expect(codeOf(bad), bad).toBe(SRT_REJECT.badRequest);
    }
  });

  it('refuses readers with 1405 and anything else unroutable with 1400', () => {
    expect(codeOf('read:demo')).toBe(SRT_REJECT.badMode);
    expect(codeOf('#!::r=demo')).toBe(SRT_REJECT.badMode);
    expect(codeOf('#!::r=demo,m=request')).toBe(SRT_REJECT.badMode);
    for (const bad of ['', 'demo', 'live/demo', 'publish', 'publish:', 'publish:Bad Name', `publish:${'a'.repeat(65)}`, 'publish:../x']) {
      expect(codeOf(bad), bad).toBe(SRT_REJECT.badRequest);
    }
    for (const bad of ['#!::', '#!::m=publish', '#!::r=demo,m=publish,x=1', '#!::r=demo,r=other,m=publish', '#!::r=demo,m=publish,t=file', '#!::r']) {
      expect(codeOf(bad), bad).toBe(SRT_REJECT.badRequest);
    }
  });
});
