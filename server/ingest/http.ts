// The publish API: POST an SDP offer to go live (`?replaces=SESSION`: a publisher reconnecting after losing that session), DELETE the returned Location to stop; the same for WHIP (RFC 9725) under /api/whip/ (`?transcode=`: the publisher's transcoding choice).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HTTPVersion, Instance } from 'find-my-way';
import { BodyTooLargeError, readBody } from '../http/body.ts';
import { PUBLISH_CORS_HEADERS, registerPreflight, sendText } from '../http/index.ts';
import { log } from '../log.ts';
import { IngestError } from './errors.ts';
import type { Ingest } from './ingest.ts';
import { publishWhip } from './whip/whip-publish.ts';

/** A refused publish request: its status, a short reason and the headers that go with it (WWW-Authenticate, Retry-After). */
interface PublishRefusal {
  status: number;
  text: string;
  headers: Record<string, string>;
}

/** Who may publish or stop `streamName` (server/access): null to go ahead, or the refusal to answer. */
type PublishGate = (req: IncomingMessage, streamName: string) => Promise<PublishRefusal | null>;

const openGate: PublishGate = async () => null;

/** The publisher's address, which the per-address publish rate limit counts (behind a trusted proxy, its X-Forwarded-For). */
type AddressOf = (req: IncomingMessage) => string;

const socketAddress: AddressOf = (req) => req.socket.remoteAddress ?? 'unknown';

export function registerIngestRoutes(router: Instance<HTTPVersion.V1>, ingest: Ingest, gate: PublishGate = openGate, addressOf: AddressOf = socketAddress): void {
  registerPreflight(router, '/api/publish/*', 'publish');
  /** Answers a refusal and says whether there was one. */
  const refused = async (req: IncomingMessage, res: ServerResponse, name: string): Promise<boolean> => {
    const refusal = await gate(req, name);
    if (!refusal) return false;
    req.resume();
    sendText(res, refusal.status, refusal.text, { ...PUBLISH_CORS_HEADERS, ...refusal.headers });
    return true;
  };
  /** Answers 415 unless the body is `application/sdp`, and says whether it did. */
  const notSdp = (req: IncomingMessage, res: ServerResponse): boolean => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type === 'application/sdp') return false;
    req.resume();
    sendText(res, 415, 'the body must be an SDP offer with Content-Type: application/sdp', PUBLISH_CORS_HEADERS);
    return true;
  };
  router.on('POST', '/api/publish/:name', async (req, res, params) => {
    const name = params.name ?? '';
    if (await refused(req, res, name)) return;
    if (notSdp(req, res)) return;
    try {
      const body = await readBody(req, ingest.config.maxOfferBytes);
      const clientAddress = addressOf(req);
      const replaces = new URL(req.url ?? '/', 'http://publish').searchParams.get('replaces') ?? undefined;
      const { sessionId, answerSdp } = await ingest.publish(name, body, clientAddress, replaces);
      res.writeHead(201, {
        ...PUBLISH_CORS_HEADERS,
        'Content-Type': 'application/sdp',
        Location: `/api/publish/${name}/${sessionId}`,
        'X-Segment-Target-Ms': String(ingest.timing.segmentTargetMs),
        'X-Part-Target-Ms': String(ingest.timing.partTargetMs),
        'Cache-Control': 'no-store',
      });
      res.end(answerSdp);
    } catch (err) {
      answerError(res, name, err);
    }
  });

  registerPreflight(router, '/api/whip/*', 'whip');
  router.on('POST', '/api/whip/:name', async (req, res, params) => {
    const name = params.name ?? '';
    if (await refused(req, res, name)) return;
    if (notSdp(req, res)) return;
    try {
      const body = await readBody(req, ingest.config.maxOfferBytes);
      const transcode = new URL(req.url ?? '/', 'http://whip').searchParams.get('transcode') ?? undefined;
      const { sessionId, answerSdp } = await publishWhip(ingest, name, body, addressOf(req), transcode);
      res.writeHead(201, {
        ...PUBLISH_CORS_HEADERS,
        'Content-Type': 'application/sdp',
        Location: `/api/whip/${name}/${sessionId}`,
        'Cache-Control': 'no-store',
      });
      res.end(answerSdp);
    } catch (err) {
      answerError(res, name, err);
    }
  });
  router.on('DELETE', '/api/whip/:name/:session', async (req, res, params) => {
    const name = params.name ?? '';
    if (await refused(req, res, name)) return;
    try {
      ingest.stop(name, params.session ?? '');
      // RFC 9725 §4.3: 200 OK.
      res.writeHead(200, { ...PUBLISH_CORS_HEADERS, 'Cache-Control': 'no-store' });
      res.end();
    } catch (err) {
      answerError(res, name, err);
    }
  });
  // No trickle ICE or ICE restarts (RFC 9725 §4.3.1): the answer carries every candidate.
  for (const path of ['/api/whip/:name', '/api/whip/:name/:session']) {
    router.on('PATCH', path, (req, res) => {
      req.resume();
      sendText(res, 405, 'this WHIP endpoint takes no trickle ICE: send every candidate in the offer', { ...PUBLISH_CORS_HEADERS, Allow: path.endsWith(':session') ? 'DELETE' : 'POST, OPTIONS' });
    });
  }

  router.on('DELETE', '/api/publish/:name/:session', async (req, res, params) => {
    const name = params.name ?? '';
    if (await refused(req, res, name)) return;
    try {
      ingest.stop(name, params.session ?? '');
      res.writeHead(204, { ...PUBLISH_CORS_HEADERS, 'Cache-Control': 'no-store' });
      res.end();
    } catch (err) {
      answerError(res, name, err);
    }
  });
}

function answerError(res: ServerResponse, name: string, err: unknown): void {
  if (err instanceof IngestError) {
    log(err.status >= 500 ? 'error' : 'info', 'publish.refused', { stream: name, code: err.code, reason: err.message });
    sendText(res, err.status, err.message, PUBLISH_CORS_HEADERS);
  } else if (err instanceof BodyTooLargeError) {
    sendText(res, 413, err.message);
  } else {
    log('error', 'publish.failed', { stream: name, reason: (err as Error).message });
    sendText(res, 500, 'the server could not set up the publish session');
  }
}
