// A WHIP publish (RFC 9725 §4.2): the offer read and vetted, a WhipSession negotiated, then admitted by the Ingest once connected.
import { segmentGrid } from '../../../shared/segment-grid.ts';
import { isValidStreamName } from '../../../shared/stream-name.ts';
import { IngestError } from '../errors.ts';
import type { Ingest, PublishAnswer } from '../ingest.ts';
import { log } from '../../log.ts';
import { readWhipOffer } from './whip-offer.ts';
import { WhipSession } from './whip-session.ts';

/**
 * Vets the publisher (the checks admit() will make, and its publish rate counted), negotiates (ICE gathered: the
 * answer is complete), and admits the session only once its peer connection is connected: a publisher that is
 * answered but never connects takes no live stream over. A refused or failed session is closed before the error is
 * thrown; one refused when it connects (the name taken meanwhile by a publisher it may not replace) is closed then.
 * `transcode`: the publisher's transcoding choice from the URL's query (PublishedStream.transcode).
 */
export async function publishWhip(ingest: Ingest, name: string, offerBody: string, clientAddress: string, transcode?: string): Promise<PublishAnswer> {
  if (!isValidStreamName(name)) throw new IngestError('bad-name', name, 'stream names are 1 to 64 characters of a-z, 0-9, _ and -');
  if (Buffer.byteLength(offerBody) > ingest.config.maxOfferBytes) {
    throw new IngestError('offer-too-large', name, `SDP offer larger than ${ingest.config.maxOfferBytes} bytes`);
  }
  const offer = readWhipOffer(name, offerBody);
  ingest.vet(name, clientAddress);
  const { segmentTargetMs, partTargetMs } = ingest.timing;
  const session = new WhipSession(name, offer, { config: ingest.config, grid: segmentGrid(segmentTargetMs * 1000, partTargetMs * 1000), transcode });
  session.once('connected', () => {
    try {
      ingest.admit(session, clientAddress, 'whip', { vetted: true });
      session.start();
    } catch (err) {
      log('info', 'publish.refused', { stream: name, session: session.id, client: clientAddress, path: 'whip', reason: (err as Error).message });
      session.close('protocol-error', (err as Error).message);
    }
  });
  ingest.hold(session);
  try {
    const answerSdp = await session.answer(offer.sdp);
    return { sessionId: session.id, answerSdp };
  } catch (err) {
    session.close('protocol-error', (err as Error).message);
    throw err;
  }
}
