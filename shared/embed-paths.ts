// Where the embeddable player lives on every server that serves pages: the loader script, the iframe page and the
// content-hashed build output; the build (vite.config.ts) writes these, the server serves them.

/** The classic-script loader `<script src="https://HOST/embed.js" async>`; short-cached, it names the hashed module. */
export const EMBED_LOADER_PATH = '/embed.js';
/** The iframe form: `/embed/NAME`. */
export const EMBED_PAGE_PREFIX = '/embed/';
/** Build output with content-hashed names: cached for a year. */
export const ASSETS_PREFIX = '/assets/';

