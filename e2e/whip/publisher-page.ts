// Test page: @eyevinn/whip-web-client (an independent WHIP client) publishes the fake camera (or a noise picture) and microphone to a WHIP endpoint.
import { WHIPClient } from '@eyevinn/whip-web-client';

export interface WhipPublisher {
  /**
   * Publishes to `endpoint` (with `key` as its Bearer key, if any); resolves with the resource URL once the answer is
   * applied. The picture is the fake camera's 640x480, or with `noise` blocky random noise of that size: the fake
   * camera's simple picture is encoded far below any bitrate target, noise fills whatever the encoder is given.
   */
  start(endpoint: string, key: string | undefined, noise?: { width: number; height: number }): Promise<string>;
  /** The client's DELETE of its resource. */
  stop(): Promise<void>;
  /** The peer connection's state as the client reports it. */
  connectionState(): string;
  /** What the publisher's WebRTC engine says about its sending now (getStats of the client's peer connection). */
  sendStats(): Promise<PublisherSendStats>;
}

export interface PublisherSendStats {
  /** The congestion controller's estimate of the path (the selected candidate pair's availableOutgoingBitrate), bit/s. */
  availableOutgoingBitrate: number | undefined;
  /** The video encoder's current target (outbound-rtp targetBitrate), bit/s. */
  videoTargetBitrate: number | undefined;
  /** Video RTP payload bytes sent so far, and when the stats were taken (ms, the stats' clock). */
  videoBytesSent: number;
  /** The height of the frames the encoder sends now (it may scale down under CPU or bandwidth pressure). */
  frameHeight: number | undefined;
  timestampMs: number;
}

let client: WHIPClient | undefined;
/** The client's peer connection, taken from its factory: the client keeps it private. */
let peer: RTCPeerConnection | undefined;
/** Rejected with the status when the client's POST is refused (the client only logs it and waits for ever). */
let refused: (status: number) => void = () => undefined;

const pageFetch = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const response = await pageFetch(input, init);
  if (init?.method === 'POST' && !response.ok) refused(response.status);
  return response;
};

const publisher: WhipPublisher = {
  async start(endpoint, key, noise) {
    document.body.dataset.state = 'connecting';
    client = new WHIPClient({
      endpoint,
      // No STUN server: everything stays on loopback.
      opts: { iceServers: [], ...(key !== undefined && { authkey: key }), timeout: 1000 },
      peerConnectionFactory: (configuration) => (peer = new RTCPeerConnection(configuration)),
    });
    const refusal = new Promise<never>((_, reject) => {
      refused = (status) => reject(new Error(`WHIP POST answered ${status}`));
    });
    const media = await navigator.mediaDevices.getUserMedia({ video: noise === undefined && { width: 640, height: 480, frameRate: 30 }, audio: true });
    if (noise) media.addTrack(noiseTrack(noise.width, noise.height));
    await client.ingest(media);
    const resource = await Promise.race([client.getResourceUrl(), refusal]);
    document.body.dataset.state = 'live';
    return resource;
  },
  async stop() {
    await client?.destroy();
  },
  connectionState() {
    return client?.getICEConnectionState() ?? 'new';
  },
  async sendStats() {
    if (!peer) throw new Error('not publishing');
    const out: PublisherSendStats = { availableOutgoingBitrate: undefined, videoTargetBitrate: undefined, videoBytesSent: 0, frameHeight: undefined, timestampMs: 0 };
    (await peer.getStats()).forEach((report: Record<string, unknown>) => {
      if (report.type === 'candidate-pair' && report.nominated === true && typeof report.availableOutgoingBitrate === 'number') {
        out.availableOutgoingBitrate = report.availableOutgoingBitrate;
      }
      if (report.type === 'outbound-rtp' && report.kind === 'video') {
        out.videoBytesSent = report.bytesSent as number;
        out.videoTargetBitrate = report.targetBitrate as number | undefined;
        out.frameHeight = report.frameHeight as number | undefined;
        out.timestampMs = report.timestamp as number;
      }
    });
    return out;
  },
};

/** Random 4x4-pixel blocks, new every frame at 30 fps: as costly to encode as a picture gets, cheap to draw. */
function noiseTrack(width: number, height: number): MediaStreamTrack {
  const canvas = Object.assign(document.createElement('canvas'), { width, height });
  const context = canvas.getContext('2d')!;
  context.imageSmoothingEnabled = false;
  const blocks = new ImageData(width / 4, height / 4);
  const small = Object.assign(document.createElement('canvas'), { width: blocks.width, height: blocks.height });
  const smallContext = small.getContext('2d')!;
  const bytes = new Uint8Array(blocks.data.buffer);
  setInterval(() => {
    // getRandomValues fills at most 64 KiB a call.
    for (let at = 0; at < bytes.byteLength; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
    for (let alpha = 3; alpha < bytes.byteLength; alpha += 4) bytes[alpha] = 255;
    smallContext.putImageData(blocks, 0, 0);
    context.drawImage(small, 0, 0, width, height);
  }, 1000 / 30);
  const track = canvas.captureStream(30).getVideoTracks()[0]!;
  // Keep the size under CPU strain (the encoder drops frames instead): a publisher measured at a given size stays at it.
  track.contentHint = 'detail';
  return track;
}

(window as unknown as { whip: WhipPublisher }).whip = publisher;
