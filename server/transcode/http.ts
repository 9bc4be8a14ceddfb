// The transcoding status API: `GET /api/streams/NAME/transcode` → the stream's worker, rungs, lag and CPU as JSON.
import type Router from 'find-my-way';
import { sendJson } from '../http/index.ts';
import type { TranscodeStatus } from './transcoded-stream.ts';

/** What the route reads: the status of a stream's latest publish. */
interface TranscodeStatuses {
  status(name: string): TranscodeStatus | undefined;
}

export function registerTranscodeRoutes(router: Router.Instance<Router.HTTPVersion.V1>, transcoder: TranscodeStatuses): void {
  router.on(['GET', 'HEAD'], '/api/streams/:name/transcode', (_req, res, params) => {
    const name = params.name ?? '';
    const status = transcoder.status(name);
    if (!status) return sendJson(res, 404, { error: `stream "${name}" is not transcoded (not live, not a field encoder's, or no ladder)` });
    sendJson(res, 200, status);
  });
}
