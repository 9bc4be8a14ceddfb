// Reads an SRT caller's streamid: which stream it publishes, with which key and transcoding choice (pure; no I/O).
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
  /** The publisher's choice of origin transcoding (`off` or a ladder, as PublishedStream.transcode), when it made one. */
  transcode?: string;
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
/** Rungs in the access-control form's `transcode=` are separated by this: its fields are separated by commas. */
const RUNG_SEPARATOR = '/';

/**
 * Parses the two streamid forms publishers send: MediaMTX's `publish:NAME[:KEY]` (everything after the second colon
 * is the key, so a MediaMTX-style `publish:NAME:USER:PASS` presents `USER:PASS`) and SRT's access-control syntax
 * `#!::r=NAME,m=publish[,key=KEY]` (`s=` is taken as the key when `key=` is absent, as MediaMTX reads it; `u`, `h`, `t=stream`
 * are allowed and ignored). The transcoding choice: a query `publish:NAME[:KEY]?transcode=VALUE` (as RTMP's stream key
 * has it), or the field `transcode=VALUE` with rungs separated by `/` (`transcode=480p:1200k/240p:400k`). The value is
 * passed on unread (the transcoder reads it). Throws SrtStreamIdError with the code to reject with.
 */
export function parseStreamId(streamId: string): SrtPublishRequest {
  const request = streamId.startsWith('#!::') ? parseAccessControl(streamId.slice(4)) : parseColonForm(streamId);
  if (!isValidStreamName(request.streamName)) {
    throw new SrtStreamIdError(SRT_REJECT.badRequest, `"${request.streamName}" is not a stream name (1 to 64 characters of a-z, 0-9, _ and -)`);
  }
  return request;
}

function parseColonForm(text: string): SrtPublishRequest {
  const queryStart = text.indexOf('?');
  const streamId = queryStart < 0 ? text : text.slice(0, queryStart);
  const transcode = queryStart < 0 ? undefined : transcodeOfQuery(text.slice(queryStart + 1));
  const first = streamId.indexOf(':');
  const mode = first < 0 ? streamId : streamId.slice(0, first);
  if (mode === 'read' || mode === 'request' || mode === 'play') {
    throw new SrtStreamIdError(SRT_REJECT.badMode, 'this listener takes publishers only');
  }
  if (mode !== 'publish' || first < 0) throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid must be ${EXPECTED}`);
  const rest = streamId.slice(first + 1);
  const second = rest.indexOf(':');
  const request: SrtPublishRequest = second < 0 ? { streamName: rest, key: undefined } : { streamName: rest.slice(0, second), key: rest.slice(second + 1) || undefined };
  if (transcode !== undefined) request.transcode = transcode;
  return request;
}

/** The `transcode` of a colon-form streamid's query, the only parameter it may have. */
function transcodeOfQuery(query: string): string | undefined {
  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (name !== 'transcode') throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid's query parameter "${name}" is not supported (only transcode)`);
  }
  if (params.getAll('transcode').length > 1) throw new SrtStreamIdError(SRT_REJECT.badRequest, 'the streamid repeats "transcode"');
  return params.get('transcode') ?? undefined;
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
    if (!['r', 'm', 'key', 's', 'u', 'h', 't', 'transcode'].includes(name)) {
      throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid key "${name}" is not supported`);
    }
  }
  // SRT's access-control spec makes `request` (reading) the mode when `m` is absent.
  if ((fields.get('m') ?? 'request') !== 'publish') throw new SrtStreamIdError(SRT_REJECT.badMode, 'this listener takes publishers only (m=publish)');
  if ((fields.get('t') ?? 'stream') !== 'stream') throw new SrtStreamIdError(SRT_REJECT.badRequest, 'only t=stream is supported');
  const streamName = fields.get('r');
  if (streamName === undefined) throw new SrtStreamIdError(SRT_REJECT.badRequest, `the streamid must be ${EXPECTED}`);
  const request: SrtPublishRequest = { streamName, key: (fields.get('key') ?? fields.get('s')) || undefined };
  const transcode = fields.get('transcode');
  if (transcode !== undefined) request.transcode = transcode.split(RUNG_SEPARATOR).join(',');
  return request;
}
