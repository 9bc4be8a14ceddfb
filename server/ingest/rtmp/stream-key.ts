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

/**
 * The application in a connect command's `app` (the path before any query: `live`, or `live?…`) and a key in its
 * query: a server URL `rtmp://HOST/live?key=KEY` with the stream key `NAME` carries the key there.
 */
export function parseApp(app: string): { app: string; key: string | undefined } {
  const query = app.indexOf('?');
  if (query < 0) return { app: app.replace(/\/+$/, ''), key: undefined };
  return { app: app.slice(0, query).replace(/\/+$/, ''), key: new URLSearchParams(app.slice(query + 1)).get('key') ?? undefined };
}
