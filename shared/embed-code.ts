// The copy-paste embed code for a stream: the script-tag form and the iframe form, as the watch and landing pages show them.
import { EMBED_LOADER_PATH, EMBED_PAGE_PREFIX } from './embed-paths.ts';

/** The iframe form's default size: 16:9, the element's own default shape. */
const EMBED_IFRAME_SIZE = { width: 640, height: 360 } as const;

/** `value` safe inside a double-quoted HTML attribute (stream names never need it; placeholders and typos might). */
function attribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `origin` without a trailing slash, so `https://host/` and `https://host` give the same code. */
function base(origin: string): string {
  return origin.replace(/\/+$/, '');
}

/** The script form: the loader from `origin` (any origin or edge serving pages) and the element for `stream`. */
export function embedScriptCode(origin: string, stream: string): string {
  return `<script src="${attribute(base(origin) + EMBED_LOADER_PATH)}" async></script>\n<swarmcast-player stream="${attribute(stream)}"></swarmcast-player>`;
}

/** The iframe form, for sites that allow no scripts: `origin`/embed/NAME at 640×360, allowed to autoplay and go full screen. */
export function embedIframeCode(origin: string, stream: string): string {
  const src = `${base(origin)}${EMBED_PAGE_PREFIX}${encodeURIComponent(stream)}`;
  return (
    `<iframe src="${attribute(src)}" width="${EMBED_IFRAME_SIZE.width}" height="${EMBED_IFRAME_SIZE.height}" ` +
    `allow="autoplay; fullscreen; picture-in-picture" allowfullscreen title="${attribute(stream)} live stream"></iframe>`
  );
}
