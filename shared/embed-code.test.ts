// The embed code the pages offer: exactly the documented snippet and iframe, for any origin, safe for odd input.
import { describe, expect, it } from 'vitest';
import { embedIframeCode, embedScriptCode } from './embed-code.ts';

describe('embedScriptCode', () => {
  it('is the loader from the origin and the element for the stream', () => {
    expect(embedScriptCode('https://live.example', 'demo')).toBe(
      '<script src="https://live.example/embed.js" async></script>\n<swarmcast-player stream="demo"></swarmcast-player>',
    );
  });

  it('keeps a port and drops a trailing slash', () => {
    expect(embedScriptCode('http://127.0.0.1:8080/', 'a_b-1')).toBe(
      '<script src="http://127.0.0.1:8080/embed.js" async></script>\n<swarmcast-player stream="a_b-1"></swarmcast-player>',
    );
  });

  it('escapes what would end the attribute', () => {
    expect(embedScriptCode('https://h', '"><b>')).toContain('stream="&quot;&gt;&lt;b&gt;"');
  });
});

describe('embedIframeCode', () => {
  it('is the iframe page for the stream at 640×360, allowed to autoplay, go full screen and picture-in-picture', () => {
    expect(embedIframeCode('https://live.example', 'demo')).toBe(
      '<iframe src="https://live.example/embed/demo" width="640" height="360" allow="autoplay; fullscreen; picture-in-picture" ' +
        'allowfullscreen title="demo live stream"></iframe>',
    );
  });

  it('encodes the name in the path and escapes it in the title', () => {
    const code = embedIframeCode('https://h/', 'a b"&');
    expect(code).toContain('src="https://h/embed/a%20b%22%26"');
    expect(code).toContain('title="a b&quot;&amp; live stream"');
  });
});
