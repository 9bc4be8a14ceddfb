// Answering an SDP offer without trickle ICE: the answer goes back once every local candidate is in it (the browser path and WHIP).
import type { PeerConnection } from 'node-datachannel';
import { IngestError } from './errors.ts';

export interface GatheredAnswer {
  /** The complete answer; rejects with `bad-offer` when the engine refuses the offer, `negotiation-failed` on timeout or abort. */
  answer: Promise<string>;
  /** Ends the wait with `error` (the session closed first); nothing once the answer is settled. */
  abort(error: Error): void;
}

/**
 * Applies `offerSdp` to `pc` and waits for its gathering to complete. `guard` wraps the callback handed to
 * node-datachannel (an exception escaping into it kills the process).
 */
export function answerWhenGathered(
  pc: PeerConnection,
  offerSdp: string,
  options: { streamName: string; timeoutMs: number; guard?: <A extends unknown[]>(callback: (...args: A) => void) => (...args: A) => void },
): GatheredAnswer {
  let settle: (outcome: { sdp: string } | { error: Error }) => void = () => undefined;
  const answer = new Promise<string>((resolve, reject) => {
    let settled = false;
    settle = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeout);
      if ('error' in outcome) reject(outcome.error);
      else resolve(outcome.sdp);
    };
    const timeout = setTimeout(() => settle({ error: new IngestError('negotiation-failed', options.streamName, 'ICE gathering timed out') }), options.timeoutMs);
    const finish = (): void => {
      const local = pc.localDescription();
      if (local) settle({ sdp: local.sdp });
    };
    const onGathering = (state: string): void => {
      if (state === 'complete') finish();
    };
    pc.onGatheringStateChange(options.guard ? options.guard(onGathering) : onGathering);
    try {
      pc.setRemoteDescription(offerSdp, 'offer');
    } catch (err) {
      settle({ error: new IngestError('bad-offer', options.streamName, `the WebRTC engine refused the offer: ${(err as Error).message}`) });
      return;
    }
    if (pc.gatheringState() === 'complete') finish();
  });
  return { answer, abort: (error) => settle({ error }) };
}
