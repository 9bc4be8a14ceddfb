// The typed emitter: a throwing listener never breaks the emitter, and an error nobody listens to reaches the reporter.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setUnhandledErrorReporter, TypedEmitter, type ErrorContext, type UnhandledError, type UnhandledErrorReporter } from './events.ts';

type TestEvents = { tick: [number]; error: [Error] };

class Ticker extends TypedEmitter<TestEvents> {
  constructor(readonly streamName?: string) {
    super();
  }
  tick(n: number): void {
    this.emit('tick', n);
  }
  fail(err: Error): void {
    this.emit('error', err);
  }
  protected override errorContext(): ErrorContext {
    return this.streamName === undefined ? {} : { stream: this.streamName };
  }
}

let reports: UnhandledError[];
let previous: UnhandledErrorReporter;

beforeEach(() => {
  reports = [];
  previous = setUnhandledErrorReporter((report) => reports.push(report));
});

afterEach(() => {
  setUnhandledErrorReporter(previous);
});

describe('TypedEmitter', () => {
  it('passes a throwing listener’s error to the error listeners and still calls the other listeners', () => {
    const ticker = new Ticker();
    const seen: number[] = [];
    const errors: Error[] = [];
    ticker.on('tick', () => {
      throw new Error('boom');
    });
    ticker.on('tick', (n) => seen.push(n));
    ticker.on('error', (err) => errors.push(err));
    ticker.tick(1);
    ticker.tick(2);
    expect(seen).toEqual([1, 2]);
    expect(errors.map((e) => e.message)).toEqual(['boom', 'boom']);
    expect(reports).toEqual([]);
  });

  it('hands a throwing listener’s error to the reporter, with the emitter’s context, when nobody listens to error', () => {
    const ticker = new Ticker('demo');
    const seen: number[] = [];
    const boom = new Error('boom');
    ticker.on('tick', (n) => {
      if (n === 1) throw boom;
    });
    ticker.on('tick', (n) => seen.push(n));
    expect(() => ticker.tick(1)).not.toThrow();
    ticker.tick(2);
    expect(seen).toEqual([1, 2]);
    expect(reports).toEqual([{ error: boom, event: 'tick', context: { stream: 'demo' } }]);
  });

  it('reports an error emitted with no error listener rather than dropping it', () => {
    const ticker = new Ticker();
    const err = new Error('encoder failed');
    ticker.fail(err);
    expect(reports).toEqual([{ error: err, event: 'error', context: {} }]);
  });

  it('reports an error listener that throws, and keeps calling the remaining error listeners', () => {
    const ticker = new Ticker('demo');
    const errors: string[] = [];
    ticker.on('tick', () => {
      throw new Error('first');
    });
    ticker.on('error', () => {
      throw new Error('second');
    });
    ticker.on('error', (err) => errors.push(err.message));
    ticker.tick(1);
    expect(errors).toEqual(['first']);
    expect(reports.map((r) => [r.event, (r.error as Error).message])).toEqual([['error', 'second']]);
  });

  it('falls back to the console, without throwing, when the reporter itself throws', () => {
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    setUnhandledErrorReporter(() => {
      throw new Error('broken reporter');
    });
    const ticker = new Ticker();
    const seen: number[] = [];
    ticker.on('tick', () => {
      throw new Error('boom');
    });
    ticker.on('tick', (n) => seen.push(n));
    expect(() => ticker.tick(7)).not.toThrow();
    expect(seen).toEqual([7]);
    const logged = consoleError.mock.calls.flat().filter((arg): arg is Error => arg instanceof Error).map((e) => e.message);
    consoleError.mockRestore();
    expect(logged).toEqual(['boom', 'broken reporter']);
  });

  it('calls a once listener a single time and forgets it', () => {
    const ticker = new Ticker();
    const seen: number[] = [];
    ticker.once('tick', (n) => seen.push(n));
    ticker.tick(1);
    ticker.tick(2);
    expect(seen).toEqual([1]);
    expect(ticker.listenerCount('tick')).toBe(0);
  });
});
