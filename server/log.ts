// One-line structured logging for the server: `level event key=value …`, to stderr.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, string | number | boolean | undefined | null>;

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** `info` until the entry point applies the configured level (server/config.ts, LOG_LEVEL). */
let threshold = LEVELS.info;

/** Sets the level below which lines are dropped; the entry point calls it once with the configuration's `logLevel`. */
export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

export function log(level: LogLevel, event: string, fields: LogFields = {}): void {
  if (LEVELS[level] < threshold) return;
  const parts = [new Date().toISOString(), level.toUpperCase(), event];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    parts.push(`${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`);
  }
  process.stderr.write(parts.join(' ') + '\n');
}
