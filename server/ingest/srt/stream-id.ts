// Reads an SRT caller's streamid: which stream it publishes and with which key (pure; no I/O).
import { isValidStreamName } from '../../../shared/stream-name.ts';

/** SRT rejection codes (libsrt's access_control.h) the listener answers with. */
export const SRT_REJECT = {
  badRequest: 1400,
  unauthorized: 1401,
  overload: 1402,
  forbidden: 1403,
  badMode: 1405,
  conflict: 1409,
  internalError: 1500,
  unavailable: 1503,
} as const;

export interface SrtPublishRequest {
  streamName: string;
  /** The publish key or token, when the streamid carries one. */
  key: string | undefined;
}

/** A streamid the listener cannot route: the SRT rejection code to answer and why. */
export class SrtStreamIdError extends Error {
  override name = 'SrtStreamIdError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** What `publish:NAME[:KEY]` and the access-control form `#!::r=NAME,m=publish[,key=KEY]` look like, for messages. */
const EXPECTED = 'publish:NAME, publish:NAME:KEY or #!::r=NAME,m=publish,key=KEY';

/**
 * Parses the two streamid forms publishers send: MediaMTX's `publish:NAME[:KEY]` (everything after the second colon
 * is the key, so a MediaMTX-style `publish:NAME:USER:PASS` presents `USER:PASS`) and SRT's access-control syntax
 * `#!::r=NAME,m=publish[,key=KEY]` (`s=` is taken as the key when `key=` is absent, as MediaMTX reads it; `u`, `h`, `t=stream`
 * are allowed and ignored). Throws SrtStreamIdError with the code to reject with.
 */
export function parseStreamId(streamId: string): SrtPublishRequest {
  const request = streamId.startsWith('#!::') ? parseAccessControl(streamId.slice(4)) : parseColonForm(streamId);
  if (!isValidStreamName(request.streamName)) {
    throw new SrtStreamIdError(SRT_REJECT.badRequest, `"${request.streamName}" is not a stream name (1 to 64 characters of a-z, 0-9, _ and -)`);
  }
  return request;
}

function parseColonForm(streamId: string): SrtPublishRequest {
  const first = streamId.indexOf(':');
  const mode = first < 0 ? streamId : streamId.slice(0, first);
  if (mode === 'read' || mode === 'request' || mode === 'play') {
    throw new SrtStreamIdError(SRT_REJECT.badMode, 'this listener takes publishers only');
  }
  if (mode !== 'publish' || first < 0) throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid must be ${EXPECTED}`);
  const rest = streamId.slice(first + 1);
  const second = rest.indexOf(':');
  if (second < 0) return { streamName: rest, key: undefined };
  return { streamName: rest.slice(0, second), key: rest.slice(second + 1) || undefined };
}

function parseAccessControl(body: string): SrtPublishRequest {
  const fields = new Map<string, string>();
  for (const pair of body.split(',')) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid must be ${EXPECTED}`);
    const name = pair.slice(0, equals);
    if (fields.has(name)) throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid repeats "${name}"`);
    fields.set(name, pair.slice(equals + 1));
  }
  for (const name of fields.keys()) {
    if (!['r', 'm', 'key', 's', 'u', 'h', 't'].includes(name)) {
      throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid key "${name}" is not supported`);
    }
  }
  // SRT's access-control spec makes `request` (reading) the mode when `m` is absent.
  if ((fields.get('m') ?? 'request') !== 'publish') throw new SrtStreamIdError(SRT_REJECT.badMode, 'this listener takes publishers only (m=publish)');
  if ((fields.get('t') ?? 'stream') !== 'stream') throw new SrtStreamIdError(SRT_REJECT.badRequest, 'only t=stream is supported');
  const streamName = fields.get('r');
  if (streamName === undefined) throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid must be ${EXPECTED}`);
  return { streamName, key: (fields.get('key') ?? fields.get('s')) || undefined };
}
