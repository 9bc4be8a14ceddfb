// Public surface of the HTTP reply rules shared by every role: CORS, content-coding, ETags and 304s, and the static pages.
export { CORS_HEADERS, PUBLISH_CORS_HEADERS, answerPreflight, registerPreflight } from './cors.ts';
export { negotiateCoding, etagOf, codingEtag, isNotModified, varyOnAcceptEncoding, gzip, type ContentCoding } from './encoding.ts';
export { failInternal, sendText, sendJson, sendBody, sendEntity, sendNotModified } from './reply.ts';
export { abortSignalOf } from './client-gone.ts';
export { createPages } from './pages.ts';
export { createListener } from './listener.ts';
