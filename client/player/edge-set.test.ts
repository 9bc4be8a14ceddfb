// EdgeSet: which edge requests go to, and how a failure moves them to the next edge.
import { describe, expect, it } from 'vitest';
import { EdgeSet } from './edge-set.ts';

describe('EdgeSet', () => {
  it('routes requests on any known edge to the active edge and leaves other URLs alone', () => {
    const edges = new EdgeSet(['http://127.0.0.1:8081/', 'http://127.0.0.1:8082']);
    expect(edges.origins).toEqual(['http://127.0.0.1:8081', 'http://127.0.0.1:8082']);
    expect(edges.route('http://127.0.0.1:8081/live/a/v0/media.m3u8?_HLS_msn=3')).toBe('http://127.0.0.1:8081/live/a/v0/media.m3u8?_HLS_msn=3');
    edges.fail('http://127.0.0.1:8081', 'HTTP 0');
    expect(edges.route('http://127.0.0.1:8081/live/a/v0/media.m3u8?_HLS_msn=3')).toBe('http://127.0.0.1:8082/live/a/v0/media.m3u8?_HLS_msn=3');
    expect(edges.route('http://elsewhere.example/x.m4s')).toBe('http://elsewhere.example/x.m4s');
  });

  it("keeps a playback token's /t/TOKEN prefix when a request moves to the next edge", () => {
    const edges = new EdgeSet(['http://127.0.0.1:8081', 'http://127.0.0.1:8082']);
    edges.fail('http://127.0.0.1:8081', 'HTTP 502');
    expect(edges.route('http://127.0.0.1:8081/t/aaa.bbb.ccc/live/a/v0/a1-3.2.m4s')).toBe('http://127.0.0.1:8082/t/aaa.bbb.ccc/live/a/v0/a1-3.2.m4s');
  });

  it('moves to the next edge once per failure of the active edge, wrapping around, and counts switches', () => {
    const edges = new EdgeSet(['http://a:1', 'http://b:2', 'http://c:3']);
    const switches: string[] = [];
    edges.on('switch', (from, to, reason) => switches.push(`${from}>${to}:${reason}`));
    edges.fail('http://a:1', 'timeout');
    // A late failure report about an edge already left behind does not move the set again.
    edges.fail('http://a:1', 'HTTP 502');
    expect(edges.active).toBe('http://b:2');
    edges.fail('http://b:2', 'stall');
    edges.fail('http://c:3', 'stall');
    expect(edges.active).toBe('http://a:1');
    expect(edges.switches).toBe(3);
    expect(switches).toEqual(['http://a:1>http://b:2:timeout', 'http://b:2>http://c:3:stall', 'http://c:3>http://a:1:stall']);
  });

  it('stays on a single edge, which has nowhere to go', () => {
    const edges = new EdgeSet(['http://a:1']);
    edges.fail('http://a:1', 'timeout');
    expect(edges.active).toBe('http://a:1');
    expect(edges.switches).toBe(0);
    expect(() => new EdgeSet([])).toThrow();
  });
});
