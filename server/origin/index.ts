// Public surface of the origin stage: the stream registry, its HTTP routes and its config.
export { Origin } from './origin.ts';
export { registerOriginRoutes } from './http.ts';
export { ORIGIN_DEFAULTS, targetDurationS } from './config.ts';
