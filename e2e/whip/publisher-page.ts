// Test page: @eyevinn/whip-web-client (an independent WHIP client) publishes the fake camera and microphone to a WHIP endpoint.
import { WHIPClient } from '@eyevinn/whip-web-client';

export interface WhipPublisher {
  /** Publishes to `endpoint` (with `key` as its Bearer key, if any); resolves with the resource URL once the answer is applied. */
  start(endpoint: string, key: string | undefined): Promise<string>;
  /** The client's DELETE of its resource. */
  stop(): Promise<void>;
  /** The peer connection's state as the client reports it. */
  connectionState(): string;
}

let client: WHIPClient | undefined;
/** Rejected with the status when the client's POST is refused (the client only logs it and waits for ever). */
let refused: (status: number) => void = () => undefined;

const pageFetch = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const response = await pageFetch(input, init);
  if (init?.method === 'POST' && !response.ok) refused(response.status);
  return response;
};

const publisher: WhipPublisher = {
  async start(endpoint, key) {
    document.body.dataset.state = 'connecting';
    client = new WHIPClient({
      endpoint,
      // No STUN server: everything stays on loopback.
      opts: { iceServers: [], ...(key !== undefined && { authkey: key }), timeout: 1000 },
    });
    const refusal = new Promise<never>((_, reject) => {
      refused = (status) => reject(new Error(`WHIP POST answered ${status}`));
    });
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480, frameRate: 30 }, audio: true });
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
};

(window as unknown as { whip: WhipPublisher }).whip = publisher;
