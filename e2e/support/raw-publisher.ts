// A hand-driven WebRTC publisher inside a real Chromium page, for testing how the ingest treats bad publishers.
import type { Page } from 'playwright-core';

export interface RawPublishResult {
  status: number;
  body: string;
  location: string | null;
}

/** Creates a real offer with a data channel in the page, POSTs it, and returns the HTTP answer (connection left open on window.__raw). */
export function rawPublish(page: Page, name: string): Promise<RawPublishResult> {
  return page.evaluate(async (streamName) => {
    const pc = new RTCPeerConnection();
    const channel = pc.createDataChannel('swarmcast', { ordered: true });
    channel.binaryType = 'arraybuffer';
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((done) => {
      if (pc.iceGatheringState === 'complete') return done();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
    });
    const response = await fetch(`/api/publish/${streamName}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription!.sdp,
    });
    const body = await response.text();
    if (response.status === 201) await pc.setRemoteDescription({ type: 'answer', sdp: body });
    (window as unknown as { __raw: unknown }).__raw = { pc, channel };
    return { status: response.status, body, location: response.headers.get('Location') };
  }, name);
}

/** Waits for the raw channel to open, sends `frames`, and resolves when the server closes the channel. */
export function sendAndAwaitDrop(page: Page, frames: number[][] | { size: number; fill: number }[]): Promise<string> {
  return page.evaluate(async (toSend) => {
    const { channel } = (window as unknown as { __raw: { channel: RTCDataChannel } }).__raw;
    if (channel.readyState !== 'open') {
      await new Promise((done) => channel.addEventListener('open', done, { once: true }));
    }
    const closed = new Promise<string>((done) => channel.addEventListener('close', () => done('closed'), { once: true }));
    for (const item of toSend) {
      const bytes = Array.isArray(item) ? Uint8Array.from(item) : new Uint8Array(item.size).fill(item.fill);
      channel.send(bytes);
    }
    return closed;
  }, frames);
}
