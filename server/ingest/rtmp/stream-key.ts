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
  const { path, key } = splitKey(publishName);
  return { name: path, key };
}

/**
 * The application in a connect command's `app` (the path before any query: `live`, or `live?…`) and a key in its
 * query: a server URL `rtmp://HOST/live?key=KEY` with the stream key `NAME` carries the key there.
 */
export function parseApp(app: string): { app: string; key: string | undefined } {
  const { path, key } = splitKey(app);
  return { app: path.replace(/\/+$/, ''), key };
}

/** `PATH?key=KEY` → the path and the key (undefined without a query or a `key` in it). */
function splitKey(text: string): { path: string; key: string | undefined } {
  const query = text.indexOf('?');
  if (query < 0) return { path: text, key: undefined };
  return { path: text.slice(0, query), key: new URLSearchParams(text.slice(query + 1)).get('key') ?? undefined };
}
