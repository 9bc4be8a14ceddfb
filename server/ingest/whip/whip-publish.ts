// A WHIP publish (RFC 9725 §4.2): the offer read, a WhipSession negotiated, then admitted by the Ingest like every other path.
import { segmentGrid } from '../../../shared/segment-grid.ts';
import { isValidStreamName } from '../../../shared/stream-name.ts';
import { IngestError } from '../errors.ts';
import type { Ingest, PublishAnswer } from '../ingest.ts';
import { readWhipOffer } from './whip-offer.ts';
import { WhipSession } from './whip-session.ts';

/**
 * Negotiates first (ICE gathered: the answer is complete), then admits: the name's other checks run when the session
 * exists, as for RTMP. A refused or failed session is closed before the error is thrown.
 */
export async function publishWhip(ingest: Ingest, name: string, offerBody: string, clientAddress: string): Promise<PublishAnswer> {
  if (!isValidStreamName(name)) throw new IngestError('bad-name', name, 'stream names are 1 to 64 characters of a-z, 0-9, _ and -');
  if (Buffer.byteLength(offerBody) > ingest.config.maxOfferBytes) {
    throw new IngestError('offer-too-large', name, `SDP offer larger than ${ingest.config.maxOfferBytes} bytes`);
  }
  const offer = readWhipOffer(name, offerBody);
  const { segmentTargetMs, partTargetMs } = ingest.timing;
  const session = new WhipSession(name, offer, { config: ingest.config, grid: segmentGrid(segmentTargetMs * 1000, partTargetMs * 1000) });
  try {
    const answerSdp = await session.answer(offer.sdp);
    ingest.admit(session, clientAddress, 'whip');
    session.start();
    return { sessionId: session.id, answerSdp };
  } catch (err) {
    session.close('protocol-error', (err as Error).message);
    throw err;
  }
}
