// A small typed event emitter that runs in Node and in the browser; a throwing listener is reported as `error`, never breaks the emitter.
export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;
// Stored untyped; the public methods keep each event's payload type.
type AnyListener = (...args: unknown[]) => void;

/** Whom an emitter belongs to (e.g. `{ stream: 'demo' }`), so that a report of an error nobody handled says where it came from. */
export type ErrorContext = Readonly<Record<string, string>>;

/** An error nobody listened to: a listener threw and the emitter has no `error` listener, or `error` was emitted unheard. */
export interface UnhandledError {
  error: unknown;
  /** The event being emitted when it happened. */
  event: string;
  context: ErrorContext;
}

export type UnhandledErrorReporter = (report: UnhandledError) => void;

const consoleReporter: UnhandledErrorReporter = ({ error, event, context }) => {
  console.error(`unhandled error in a listener of "${event}"`, context, error);
};

let reporter: UnhandledErrorReporter = consoleReporter;

/**
 * Sets where errors nobody listens to go: the server logs them with their stream, a page shows them in its error
 * state. Until one is set they go to the console. Returns the reporter it replaces.
 */
export function setUnhandledErrorReporter(next: UnhandledErrorReporter): UnhandledErrorReporter {
  const previous = reporter;
  reporter = next;
  return previous;
}

const ERROR = 'error';

export class TypedEmitter<E extends EventMap> {
  #listeners = new Map<keyof E, Set<AnyListener>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as unknown as AnyListener);
    return this;
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapped = ((...args: E[K]) => {
      this.off(event, wrapped);
      listener(...args);
    }) as Listener<E[K]>;
    return this.on(event, wrapped);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    this.#listeners.get(event)?.delete(listener as unknown as AnyListener);
    return this;
  }

  removeAllListeners(): void {
    this.#listeners.clear();
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.#listeners.get(event)?.size ?? 0;
  }

  /** Whom this emitter belongs to; emitters that belong to a stream override it to name the stream. */
  protected errorContext(): ErrorContext {
    return {};
  }

  /**
   * Calls every listener of `event`. A listener that throws does not stop the others: its error goes to the
   * `error` listeners, or, when there are none (or an `error` listener threw), to the unhandled-error reporter.
   * Emit never throws, since it often runs inside a socket's or a peer connection's callback.
   */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    this.#dispatch(event, args);
  }

  #dispatch(event: keyof E, args: unknown[]): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) {
      if (event === ERROR) this.#report(ERROR, args[0]);
      return;
    }
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        if (event === ERROR || !this.#listeners.get(ERROR)?.size) this.#report(String(event), err);
        else this.#dispatch(ERROR, [err]);
      }
    }
  }

  #report(event: string, error: unknown): void {
    const report: UnhandledError = { error, event, context: this.errorContext() };
    try {
      reporter(report);
    } catch (reporterError) {
      // A broken reporter must not turn a reported error into a thrown one; the console still shows both.
      consoleReporter(report);
      consoleReporter({ error: reporterError, event: 'unhandled-error reporter', context: report.context });
    }
  }
}
