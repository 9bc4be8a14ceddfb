// The transcoding status API: `GET /api/streams/NAME/transcode` → the stream's worker, rungs, lag and CPU as JSON, for
// the operator (behind /metrics' token).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Router from 'find-my-way';
import { sendJson, sendText } from '../http/index.ts';
import type { TranscodeStatus } from './transcoded-stream.ts';

/** What the route reads: the status of a stream's latest publish. */
interface TranscodeStatuses {
  status(name: string): TranscodeStatus | undefined;
}

/** `allowed` answers a request the operator's check refuses (and says so). */
export function registerTranscodeRoutes(
  router: Router.Instance<Router.HTTPVersion.V1>,
  transcoder: TranscodeStatuses,
  allowed: (req: IncomingMessage, res: ServerResponse) => boolean,
): void {
  router.on(['GET', 'HEAD'], '/api/streams/:name/transcode', (req, res, params) => {
    if (!allowed(req, res)) return;
    const status = transcoder.status(params.name ?? '');
    if (!status) return sendText(res, 404, 'stream not transcoded (not live, not a field encoder\'s, or no ladder)');
    sendJson(res, 200, status);
  });
}
