// The element's attribute rules: booleans, server and edges resolution, the stream, latency and ABR checks.
import { describe, expect, it } from 'vitest';
import { EmbedAttributeError, embedOptions, flag, httpOrigin } from './options.ts';

const reader = (attributes: Record<string, string>) => (name: string) => attributes[name] ?? null;
const HOME = 'https://cdn.example';

describe('flag', () => {
  it('is the fallback when absent, on when present, off for false/0/off/no', () => {
    expect(flag(null, false)).toBe(false);
    expect(flag(null, true)).toBe(true);
    expect(flag('', false)).toBe(true);
    expect(flag('autoplay', false)).toBe(true);
    for (const off of ['false', '0', 'off', 'no', ' FALSE ']) expect(flag(off, true), off).toBe(false);
  });
});

describe('httpOrigin', () => {
  it('keeps the origin of http(s) URLs and refuses the rest', () => {
    expect(httpOrigin('https://a.example:8443/path?q')).toBe('https://a.example:8443');
    expect(httpOrigin(' http://127.0.0.1:8080 ')).toBe('http://127.0.0.1:8080');
    expect(httpOrigin('ftp://a.example')).toBeNull();
    expect(httpOrigin('javascript:alert(1)')).toBeNull();
    expect(httpOrigin('not a url')).toBeNull();
  });
});

describe('embedOptions', () => {
  it('plays from the server the script came from by default, in low latency', () => {
    expect(embedOptions(reader({ stream: 'demo' }), HOME)).toEqual({
      src: `${HOME}/live/demo/index.m3u8`,
      latencyMode: 'low',
      edges: [],
      abr: 'streamed',
      latencyTargetFloorMs: null,
    });
  });

  it('takes the server attribute over the default, and the first edge over both', () => {
    expect(embedOptions(reader({ stream: 'demo', server: 'http://127.0.0.1:9000/' }), HOME).src).toBe('http://127.0.0.1:9000/live/demo/index.m3u8');
    const options = embedOptions(reader({ stream: 'demo', server: 'http://o.example', edges: 'http://e1.example:81, https://e2.example/' }), HOME);
    expect(options.edges).toEqual(['http://e1.example:81', 'https://e2.example']);
    expect(options.src).toBe('http://e1.example:81/live/demo/index.m3u8');
  });

  it('reads the latency mode', () => {
    expect(embedOptions(reader({ stream: 'demo', latency: 'p2p' }), HOME).latencyMode).toBe('p2p');
    expect(embedOptions(reader({ stream: 'demo', latency: '' }), HOME).latencyMode).toBe('low');
  });

  it('reads the ABR comparison switch', () => {
    expect(embedOptions(reader({ stream: 'demo', abr: 'hls.js' }), HOME).abr).toBe('hls.js');
    expect(embedOptions(reader({ stream: 'demo', abr: ' streamed ' }), HOME).abr).toBe('streamed');
    expect(embedOptions(reader({ stream: 'demo', abr: '' }), HOME).abr).toBe('streamed');
  });

  it('reads the latency target, in ms from 150 to 10000', () => {
    expect(embedOptions(reader({ stream: 'demo', target: '400' }), HOME).latencyTargetFloorMs).toBe(400);
    expect(embedOptions(reader({ stream: 'demo', target: ' 150 ' }), HOME).latencyTargetFloorMs).toBe(150);
    expect(embedOptions(reader({ stream: 'demo', target: '' }), HOME).latencyTargetFloorMs).toBeNull();
    for (const target of ['149', '10001', '400ms', '0.4', '-400', 'low']) {
      expect(() => embedOptions(reader({ stream: 'demo', target }), HOME), target).toThrow(/is not a latency in ms from 150 to 10000/);
    }
    let refusal: unknown;
    try {
      embedOptions(reader({ stream: 'demo', target: 'x' }), HOME);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ name: 'EmbedAttributeError', attribute: 'target', stream: 'demo' });
  });

  it('refuses a missing or invalid stream, a non-http server or edge, an unknown latency, naming the attribute', () => {
    const refused = (attributes: Record<string, string>): EmbedAttributeError => {
      try {
        embedOptions(reader(attributes), HOME);
      } catch (err) {
        if (err instanceof EmbedAttributeError) return err;
        throw err;
      }
      throw new Error(`accepted ${JSON.stringify(attributes)}`);
    };
    expect(refused({}).attribute).toBe('stream');
    expect(refused({ stream: 'Not Valid' })).toMatchObject({ attribute: 'stream', stream: 'Not Valid' });
    expect(refused({ stream: 'demo', server: 'file:///etc' })).toMatchObject({ attribute: 'server', stream: 'demo' });
    expect(refused({ stream: 'demo', edges: 'http://ok.example,nope' }).attribute).toBe('edges');
    expect(refused({ stream: 'demo', latency: 'ultra' }).message).toMatch(/low, p2p/);
    expect(refused({ stream: 'demo', abr: 'bola' })).toMatchObject({ attribute: 'abr', stream: 'demo' });
  });

  it('puts the token attribute in the playlist path as /t/TOKEN, and refuses a malformed one in words', () => {
    expect(embedOptions(reader({ stream: 'demo', token: 'aaa.bbb.ccc' }), HOME).src).toBe('https://cdn.example/t/aaa.bbb.ccc/live/demo/index.m3u8');
    expect(embedOptions(reader({ stream: 'demo', token: '' }), HOME).src).toBe('https://cdn.example/live/demo/index.m3u8');
    expect(() => embedOptions(reader({ stream: 'demo', token: 'a/b' }), HOME)).toThrow(/needs a valid link/);
  });
});
