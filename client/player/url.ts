// Where a stream's playlist lives, on the page's own server or another one (the path itself is shared/playback-path.ts).
import { isValidPlaybackToken, multivariantPath, withPlaybackToken } from '../../shared/playback-path.ts';
import { isValidStreamName } from '../../shared/stream-name.ts';
import { PlayerError } from './errors.ts';

/**
 * The playback URL of `stream` on the server at `base` (an origin such as `https://host`, or '' for the page's own),
 * behind its playback token's `/t/TOKEN` prefix when it has one (every playlist and object URL then inherits it).
 */
export function playbackUrl(stream: string, base = '', token?: string): string {
  if (!isValidStreamName(stream)) throw new PlayerError('invalid-stream', `"${stream}" is not a valid stream name: use 1 to 64 of a-z, 0-9, _ and -`);
  if (token !== undefined && !isValidPlaybackToken(token)) throw new PlayerError('access-denied', 'This broadcast needs a valid link: the token in this link is malformed.');
  return `${base.replace(/\/+$/, '')}${withPlaybackToken(multivariantPath(stream), token)}`;
}
