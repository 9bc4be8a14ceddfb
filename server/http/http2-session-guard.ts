// Slow-client bounds for HTTP/2 sessions, which Node leaves to the idle timeout alone: a session must finish a request's
// headers within the head timeout of connecting, of beginning a header block, and may sit without a request only so long.
import http2 from 'node:http2';

export interface SessionGuardLimits {
  /** Longest wait for a request's whole header block: from connecting for the first, from its first HEADERS frame later. */
  headersTimeoutMs: number;
  /** Longest time a session may have no open request; PING or SETTINGS frames do not count as use. */
  idleTimeoutMs: number;
  /** How often each session is looked at. */
  checkIntervalMs: number;
}

/** What the guard knows of a session: when it connected, the requests whose headers completed, what nghttp2 has begun. */
export interface SessionActivity {
  connectedAtMs: number;
  /** Highest client stream id whose header block completed (Node's `stream` event); 0 before the first. */
  lastCompletedStreamId: number;
  /** Highest stream id nghttp2 has begun processing (`session.state.lastProcStreamID`): set on a HEADERS frame's arrival. */
  lastBegunStreamId: number;
  /** When the guard first saw `lastBegunStreamId` ahead of `lastCompletedStreamId`, or null if it is not. */
  headersPendingSinceMs: number | null;
  openStreams: number;
  /** When the last open request closed (or the session connected), while none is open. */
  idleSinceMs: number;
}

export type SessionVerdict = 'ok' | 'first-request-too-slow' | 'headers-too-slow' | 'idle';

/**
 * Why a session is to be closed now, or 'ok'. A header block begun but not finished shows as nghttp2's last processed
 * stream id running ahead of the last stream Node handed over: Node emits a stream only once its headers are complete.
 */
export function judgeSession(activity: SessionActivity, nowMs: number, limits: SessionGuardLimits): SessionVerdict {
  if (activity.lastCompletedStreamId === 0 && nowMs - activity.connectedAtMs > limits.headersTimeoutMs) return 'first-request-too-slow';
  if (activity.headersPendingSinceMs !== null && nowMs - activity.headersPendingSinceMs > limits.headersTimeoutMs) return 'headers-too-slow';
  if (activity.openStreams === 0 && nowMs - activity.idleSinceMs > limits.idleTimeoutMs) return 'idle';
  return 'ok';
}

/** Watches one server session until it closes, destroying it (GOAWAY ENHANCE_YOUR_CALM) when judgeSession says so. */
export function guardSession(session: http2.ServerHttp2Session, limits: SessionGuardLimits): void {
  const now = performance.now();
  const activity: SessionActivity = {
    connectedAtMs: now,
    lastCompletedStreamId: 0,
    lastBegunStreamId: 0,
    headersPendingSinceMs: null,
    openStreams: 0,
    idleSinceMs: now,
  };
  session.on('stream', (stream) => {
    activity.lastCompletedStreamId = Math.max(activity.lastCompletedStreamId, stream.id ?? 0);
    activity.openStreams++;
    stream.once('close', () => {
      activity.openStreams--;
      if (activity.openStreams === 0) activity.idleSinceMs = performance.now();
    });
  });
  const check = setInterval(() => {
    if (session.destroyed) return;
    const checkedAt = performance.now();
    // `state` is empty once the session is closing.
    activity.lastBegunStreamId = session.state.lastProcStreamID ?? activity.lastBegunStreamId;
    if (activity.lastBegunStreamId <= activity.lastCompletedStreamId) activity.headersPendingSinceMs = null;
    else activity.headersPendingSinceMs ??= checkedAt;
    if (judgeSession(activity, checkedAt, limits) === 'ok') return;
    // GOAWAY says why; destroy() then drops the socket without waiting for the header block the client never ends.
    session.goaway(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
  }, limits.checkIntervalMs);
  check.unref();
  session.once('close', () => clearInterval(check));
}
