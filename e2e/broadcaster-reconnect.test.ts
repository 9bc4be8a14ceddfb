// The browser broadcaster reconnects by itself after a network drop (its router's link down, then up, in network
// namespaces the test makes), the stream goes on after a discontinuity, and a Chromium viewer keeps playing; Stop
// pressed while it reconnects ends the stream as soon as the server can be reached.
import { beforeAll, describe, expect, it } from 'vitest';
import { STOP_ATTEMPT_TIMEOUT_MS } from '../client/broadcaster/publisher.ts';
import { requireNetworkTools, runInNetworkNamespace } from './support/netns-runner.ts';
import { POLL_INTERVAL_MS } from './support/poll.ts';
import type { ReconnectResult, StopResult } from './support/reconnect-netns.ts';
import { eventsBetween, stallLengths } from './support/reconnect-viewer.ts';
import { NAMESPACE_LINE } from './support/uplink-netns.ts';

const DRIVER_TIMEOUT_MS = 150_000;
/**
 * From the link coming back to the stream ended: the page's DELETE under way when the link came back may hang until its
 * attempt times out (STOP_ATTEMPT_TIMEOUT_MS) before the next one goes, then the answer, and the playlist poll; 3 s spare.
 */
const STOPPED_WITHIN_MS = STOP_ATTEMPT_TIMEOUT_MS + POLL_INTERVAL_MS + 3_000;

beforeAll(() => requireNetworkTools(['unshare', 'nsenter', 'ip']));

describe('a browser broadcaster whose network drops', () => {
  it('reconnects by itself while live, and a viewer plays on across the discontinuity without leaving `playing`', async () => {
    const result = await runInNetworkNamespace<ReconnectResult>({
      driver: 'e2e/support/reconnect-netns-driver.ts',
      name: 'reconnect',
      timeoutMs: DRIVER_TIMEOUT_MS,
      namespaceLine: NAMESPACE_LINE,
    });
    const stalls = stallLengths(result.viewer.log);
    console.log(`broadcaster reconnect: noticed the drop after ${result.noticedAfterMs} ms, live again ${result.reconnectedAfterMs} ms after the link came back; viewer stalls ${JSON.stringify(stalls)} ms`);
    expect(result.linksBefore).toEqual(['lo']);
    // The page stayed live: its stats said reconnecting meanwhile, and it reconnected once.
    expect(result.broadcaster).toMatchObject({ state: 'live', reconnecting: false, reconnects: 1, error: null });
    // The page said so in words while the connection was lost, and no longer once it was back.
    expect(result.notice).toEqual({ whileLost: true, afterReconnect: false });
    expect(result.broadcaster.log.states.filter((state) => state !== 'live')).toEqual([]);
    // The server kept the stream for it: the lost session ended as a drop, the new one continued the stream.
    const log = result.serverLog.join('\n');
    expect(log).toMatch(/publish\.grace stream=comeback reason=disconnected/);
    expect(log).toMatch(/publish\.resumed stream=comeback/);
    expect(log).not.toMatch(/publish\.ended stream=comeback .*reason=stopped/);
    expect(result.playlist).toContain('#EXT-X-DISCONTINUITY\n');
    expect(result.playlist).not.toContain('#EXT-X-ENDLIST');
    // The viewer played on in the same page, never leaving `playing`.
    expect(result.viewer.state).toBe('playing');
    expect(result.viewer.currentTime).toBeGreaterThanOrEqual(result.viewer.atReconnect + 4);
    expect(result.viewer.log.states.filter((state) => state !== 'playing')).toEqual([]);
    // Same documents throughout: a reload would make new ones.
    expect(result.viewer.log.timeOrigin).toBe(result.viewer.timeOriginBefore);
    expect(result.broadcaster.log.timeOrigin).toBe(result.broadcaster.timeOriginBefore);
    const last = result.viewer.log.stalls.at(-1);
    expect(stalls.every((ms) => ms !== null), `the viewer around its last stall:\n${last ? eventsBetween(result.viewer.log, last.startMs - 3_000, last.startMs + 30_000) : ''}`).toBe(true);
  }, DRIVER_TIMEOUT_MS + 10_000);

  it('ends the stream when Stop is pressed while reconnecting: as soon as the server can be reached again, not after the grace period', async () => {
    const result = await runInNetworkNamespace<StopResult>({
      driver: 'e2e/support/reconnect-netns-driver.ts',
      args: ['stop'],
      name: 'reconnect-stop',
      timeoutMs: DRIVER_TIMEOUT_MS,
      namespaceLine: NAMESPACE_LINE,
    });
    console.log(`broadcaster stop while reconnecting: page idle ${result.idleAfterMs} ms after Stop; stream ended ${result.endedAfterLinkUpMs} ms after the link came back, ${result.endedAfterGraceBeganMs} ms into a ${result.graceMs} ms grace period\n${result.requests.join('\n')}\n${result.serverLog.filter((line) => line.includes('publish.')).join('\n')}`);
    // The page stops at once, whatever the network does.
    expect(result.idleAfterMs).toBeLessThan(2_000);
    // Nothing could reach the server while the link was down; once it is back, the page's DELETE (tried again while
    // the server cannot be reached) ends the stream that waited for it, well within the grace period.
    expect(result.endedWhileDown).toBe(false);
    expect(result.endedAfterLinkUpMs).toBeLessThan(STOPPED_WITHIN_MS);
    expect(result.playlist).toContain('#EXT-X-ENDLIST');
    const log = result.serverLog.join('\n');
    expect(log).toMatch(/publish\.grace stream=comeback reason=(disconnected|idle-timeout)/);
    // The DELETE ended the lost session's stream in its grace period, or the session an offer continued it with. Stop
    // aborts the reconnection attempt under way, but an offer the page wrote before (on a connection kept alive from
    // before the drop) sits in the kernel's send buffer and reaches the server once the link is back, aborted or not;
    // the DELETE of the session it replaced then ends it. Either way the stream ended at once (the bound above).
    expect(log).toMatch(/publish\.abandoned stream=comeback[\s\S]*publish\.grace-ended stream=comeback reason=stopped|publish\.resumed stream=comeback[\s\S]*publish\.ended stream=comeback .*reason=stopped/);
  }, DRIVER_TIMEOUT_MS + 10_000);
});
