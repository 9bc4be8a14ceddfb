// Serving a part that may still be in production: held until the hinted part starts, then streamed chunk by chunk.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { abortSignalOf, CORS_HEADERS, sendText } from '../http/index.ts';
import { log } from '../log.ts';
import { isSatisfied } from './blocking-reload.ts';
import type { OriginConfig } from './config.ts';
import { IMMUTABLE, MEDIA_TYPE, sendMediaObject } from './replies.ts';
import type { RenditionTimeline } from './rendition-timeline.ts';

/**
 * Serves a part. A complete one is an immutable object; the part in production, or the hinted one once it starts
 * (held until then, sharing blocking reload's bounded wait), is streamed chunk by chunk as the packager writes it.
 */
export async function servePart(
  config: Pick<OriginConfig, 'blockingTimeoutMs'>,
  timeline: RenditionTimeline,
  msn: number,
  partIndex: number,
  object: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const existing = timeline.part(msn, partIndex);
  if (existing) return sendMediaObject(req, res, object, existing);
  if (!timeline.producing(msn, partIndex)) {
    const hint = timeline.preloadHint();
    if (!hint || hint.msn !== msn || hint.partIndex !== partIndex) return sendText(res, 404, `part ${msn}.${partIndex} is not available`);
    // Also stop waiting when a later part lands: the segment was cut before the hinted part, which then never exists.
    const outcome = await timeline.waitUntil(
      () => timeline.producing(msn, partIndex) || isSatisfied({ msn, part: partIndex }, timeline.liveEdge()),
      config.blockingTimeoutMs,
      abortSignalOf(res),
    );
    if (outcome === 'aborted') return;
    if (outcome === 'timeout' || outcome === 'closed') return sendText(res, 503, `part ${msn}.${partIndex} did not arrive in time`);
    // The part may have completed while this request was being woken up.
    const data = timeline.part(msn, partIndex);
    if (data) return sendMediaObject(req, res, object, data);
    if (!timeline.producing(msn, partIndex)) return sendText(res, 404, `part ${msn}.${partIndex} was not produced`);
  }
  streamPart(timeline, msn, partIndex, req, res);
}

/**
 * Answers with the part in production: the chunks written so far at once, then each one as it is written, ending
 * with the part (chunked transfer: the length is not known yet). Every reader writes the timeline's own chunk
 * buffers. Never compressed: the media does not shrink and a compressor would hold bytes back.
 */
function streamPart(timeline: RenditionTimeline, msn: number, partIndex: number, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { ...CORS_HEADERS, 'content-type': MEDIA_TYPE, 'cache-control': IMMUTABLE });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  res.flushHeaders();
  const stop = timeline.followPart(msn, partIndex, {
    chunk: (data) => res.write(data),
    end: () => res.end(),
    abort: (reason) => {
      // Cut the connection without the final empty chunk, so neither client nor cache takes the bytes for a whole part.
      log('warn', 'origin.part-abandoned', { stream: timeline.streamName, rendition: timeline.rendition, msn, partIndex, reason });
      res.destroy();
    },
  });
  if (stop) res.once('close', stop);
  else res.destroy();
}
