// Where an RTMP publisher's stream name and key are: the publish name `NAME?key=KEY` (ffmpeg's URL tail, OBS's stream key).

export interface StreamKey {
  name: string;
  key: string | undefined;
}

/**
 * Splits a publish name into the stream name and its key. `rtmp://HOST/live/NAME?key=KEY` and OBS's server
 * `rtmp://HOST/live` with stream key `NAME?key=KEY` both arrive as the publish name `NAME?key=KEY`.
 */
export function parsePublishName(publishName: string): StreamKey {
  const query = publishName.indexOf('?');
  if (query < 0) return { name: publishName, key: undefined };
  const key = new URLSearchParams(publishName.slice(query + 1)).get('key');
  return { name: publishName.slice(0, query), key: key ?? undefined };
}

/** The application in a connect command's `app`: the path before any query (`live`, or `live?…`). */
export function appName(app: string): string {
  const query = app.indexOf('?');
  return (query < 0 ? app : app.slice(0, query)).replace(/\/+$/, '');
}
