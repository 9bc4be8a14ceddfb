// Ties a held request's life to its client: the wait ends when the client goes away before its answer is written.
import type { ServerResponse } from 'node:http';

/** Aborts when the client goes away before its answer is written, so a held request does not outlive its socket. */
export function abortSignalOf(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableEnded) controller.abort();
  });
  return controller.signal;
}
