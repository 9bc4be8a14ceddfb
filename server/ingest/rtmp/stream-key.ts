// Where an RTMP publisher's stream name and key are: the publish name `NAME?key=KEY` (ffmpeg's URL tail, OBS's stream key).

export interface StreamKey {
  name: string;
  key: string | undefined;
  /** `transcode=` in the query: the publisher's choice of origin transcoding (`off` or a ladder). */
  transcode: string | undefined;
}

/**
 * Splits a publish name into the stream name and its key. `rtmp://HOST/live/NAME?key=KEY` and OBS's server
 * `rtmp://HOST/live` with stream key `NAME?key=KEY` both arrive as the publish name `NAME?key=KEY`.
 */
export function parsePublishName(publishName: string): StreamKey {
  const { path, key, query } = splitKey(publishName);
  return { name: path, key, transcode: query?.get('transcode') ?? undefined };
}

/**
 * The application in a connect command's `app` (the path before any query: `live`, or `live?…`) and a key in its
 * query: a server URL `rtmp://HOST/live?key=KEY` with the stream key `NAME` carries the key there.
 */
export function parseApp(app: string): { app: string; key: string | undefined } {
  const { path, key } = splitKey(app);
  return { app: path.replace(/\/+$/, ''), key };
}

/** `PATH?key=KEY` → the path, the key (undefined without a query or a `key` in it) and the query. */
function splitKey(text: string): { path: string; key: string | undefined; query: URLSearchParams | undefined } {
  const start = text.indexOf('?');
  if (start < 0) return { path: text, key: undefined, query: undefined };
  const query = new URLSearchParams(text.slice(start + 1));
  return { path: text.slice(0, start), key: query.get('key') ?? undefined, query };
}
