// Typed errors of the broadcaster, each with a message a broadcaster can act on.
export type BroadcastErrorCode =
  | 'invalid-stream-name'
  | 'permission-denied'
  | 'device-not-found'
  | 'capture-failed'
  | 'capture-ended'
  | 'encoder-unsupported'
  | 'encoder-failed'
  | 'server-unreachable'
  | 'stream-taken'
  | 'rate-limited'
  | 'key-required'
  | 'key-rejected'
  | 'server-full'
  | 'rejected'
  | 'connection-failed';

export class BroadcastError extends Error {
  override name = 'BroadcastError';
  constructor(
    readonly code: BroadcastErrorCode,
    message: string,
    readonly streamName?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Device words used in capture error messages, by source. */
const DEVICE_WORDS: Record<string, string> = {
  camera: 'your camera',
  screen: 'your screen',
  tab: 'this tab',
};

/** Translates a getUserMedia/getDisplayMedia rejection into words a broadcaster understands. */
export function captureError(source: string, err: unknown): BroadcastError {
  const what = DEVICE_WORDS[source] ?? 'the capture device';
  const name = err instanceof DOMException ? err.name : '';
  if (name === 'NotAllowedError' || name === 'SecurityError') {
    const fix = source === 'camera'
      ? 'allow camera access in the address bar and try again'
      : 'choose what to share in the browser’s dialog and allow it, then try again';
    return new BroadcastError('permission-denied', `Swarmcast can't use ${what}: ${fix}.`, undefined, { cause: err });
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return new BroadcastError('device-not-found', `No camera or microphone was found. Connect one, or pick another source.`, undefined, { cause: err });
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return new BroadcastError('capture-failed', `Swarmcast can't read ${what}: another application may be using it. Close it and try again.`, undefined, { cause: err });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new BroadcastError('capture-failed', `Swarmcast can't capture ${what} (${detail}).`, undefined, { cause: err });
}

/** A WebCodecs encoder that stopped mid-broadcast, in the broadcaster's words. */
export function encoderFailure(kind: 'audio' | 'video', err: Error): BroadcastError {
  return new BroadcastError('encoder-failed', `The ${kind} encoder stopped (${err.message}). Reload the page and go live again.`, undefined, { cause: err });
}

/** What the browser knew when ICE gave up: which browser it is and the addresses the server offered as candidates. */
export interface IceFailureContext {
  streamName: string;
  firefox: boolean;
  serverAddresses: readonly string[];
}

const isLoopback = (address: string): boolean =>
  /^127\./.test(address) || address === '::1' || address.toLowerCase() === 'localhost';

/**
 * The data channel never opened although the server answered. Firefox (unlike Chromium) neither gathers nor pairs
 * loopback candidates unless `media.peerconnection.ice.loopback` is set, so a server whose only ICE address is
 * 127.0.0.1 can never be reached from it: say so, with both ways out, rather than blame the network.
 */
export function iceFailure({ streamName, firefox, serverAddresses }: IceFailureContext): BroadcastError {
  if (firefox && serverAddresses.length > 0 && serverAddresses.every(isLoopback)) {
    return new BroadcastError(
      'connection-failed',
      `Firefox could not connect to the server: the server offers its WebRTC connection only on a loopback address ` +
        `(${serverAddresses.join(', ')}), and Firefox does not make WebRTC connections to a server on this same ` +
        `machine's loopback address (127.0.0.1/localhost) by default. Publish to the server's network address instead: ` +
        `set the server's ICE_BIND_ADDRESS to an address this computer can reach, restart it and go live again. For ` +
        `local testing only, you can instead open about:config, set media.peerconnection.ice.loopback to true and go live again.`,
      streamName,
    );
  }
  return new BroadcastError(
    'connection-failed',
    'The server answered but no connection could be made to it (a firewall or network problem). Try again from another network.',
    streamName,
  );
}
