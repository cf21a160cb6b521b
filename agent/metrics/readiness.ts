// What /readyz answers: the agent is ready once its controllers run (the `ready` promise)
// and while it follows the broker's catalog. A broker outage is not a deletion, and DNS
// keeps answering from memory, so a dropped watch makes the agent unready only after a
// grace period: long enough to ride out a broker restart, short enough to show a cut-off.

export interface ReadinessOptions {
  /** The agent's `ready` promise. */
  readonly ready: Promise<unknown>;
  readonly watch: { readonly disconnectedForMs: number };
  readonly graceMs: number;
}

export class Readiness {
  readonly #o: ReadinessOptions;
  #ready = false;
  #failed = false;

  constructor(o: ReadinessOptions) {
    this.#o = o;
    o.ready.then(() => { this.#ready = true; }, () => { this.#failed = true; });
  }

  /** Null when ready, else why not (sent as the 503 body; never holds a secret). */
  notReady(): string | null {
    if (this.#failed) return 'controllers failed to start';
    if (!this.#ready) return 'controllers are starting';
    const down = this.#o.watch.disconnectedForMs;
    if (down > this.#o.graceMs) return `broker watch disconnected for ${Math.round(down / 1000)} s`;
    return null;
  }
}
