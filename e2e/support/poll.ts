// Waiting on a condition instead of a sleep: polls a reader until its value is right, or fails saying what it last saw.
export const POLL_INTERVAL_MS = 250;

/** Polls `read` every 250 ms until `done` holds, failing after `timeoutMs` with the last value seen. */
export async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}
