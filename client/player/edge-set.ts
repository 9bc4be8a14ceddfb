// The edges a viewer may use and which one is active; edges front the same origin, so a request moves between them by origin alone.
import { TypedEmitter } from '../../shared/events.ts';

export type EdgeSetEvents = {
  /** The active edge changed: `from` failed for `reason`. */
  switch: [from: string, to: string, reason: string];
  error: [Error];
};

export class EdgeSet extends TypedEmitter<EdgeSetEvents> {
  /** Edge origins (`scheme://host:port`), in order of preference. */
  readonly origins: readonly string[];
  #active = 0;
  #switches = 0;

  constructor(edges: readonly string[]) {
    super();
    const origins = [...new Set(edges.map((edge) => new URL(edge).origin))];
    if (origins.length === 0) throw new Error('an edge set needs at least one edge');
    this.origins = origins;
  }

  get active(): string {
    return this.origins[this.#active]!;
  }

  /** How many times the active edge changed. */
  get switches(): number {
    return this.#switches;
  }

  /** `url` on the active edge when it is on any edge of the set; other URLs are left alone. */
  route(url: string): string {
    const parsed = new URL(url);
    if (!this.origins.includes(parsed.origin) || parsed.origin === this.active) return url;
    return this.active + parsed.pathname + parsed.search;
  }

  /** `origin` failed: when it is still the active edge, the next edge becomes active. */
  fail(origin: string, reason: string): void {
    if (origin !== this.active || this.origins.length < 2) return;
    this.#active = (this.#active + 1) % this.origins.length;
    this.#switches++;
    this.emit('switch', origin, this.active, reason);
  }
}
