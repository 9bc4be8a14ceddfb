// The server's report of an error no listener handled: one log line naming its stream, instead of a throw that would end the process.
import type { UnhandledError } from '../shared/events.ts';
import { log } from './log.ts';

export function logUnhandledError({ error, event, context }: UnhandledError): void {
  // Typed errors carry their stream, for emitters (the ingest, the origin) that serve many.
  const carried = (error as { streamName?: unknown } | null)?.streamName;
  log('error', 'event.unhandled-error', {
    ...context,
    stream: context.stream ?? (typeof carried === 'string' ? carried : undefined),
    event,
    reason: error instanceof Error ? error.message : String(error),
  });
}
