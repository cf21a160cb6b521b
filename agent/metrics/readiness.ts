// What /readyz answers: the agent is ready once its controllers run (the `ready` promise)
// and while it follows the broker's catalog. A broker outage is not a deletion, and DNS
// keeps answering from memory, so a dropped watch makes the agent unready only after a
// grace period: long enough to ride out a broker restart, short enough to show a cut-off.
// The access proxy adds its own reason when it refuses everyone because its revocation list
// is too old to trust: every reason that holds is reported, not only the first.

export interface ReadinessOptions {
  /** The agent's `ready` promise. */
  readonly ready: Promise<unknown>;
  readonly watch: { readonly disconnectedForMs: number };
  readonly graceMs: number;
  /** The access proxy, when it runs: why it refuses everyone, or null. */
  readonly proxy?: { notReady(): string | null };
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
    const reasons: string[] = [];
    const down = this.#o.watch.disconnectedForMs;
    if (down > this.#o.graceMs) reasons.push(`broker watch disconnected for ${Math.round(down / 1000)} s`);
    const proxy = this.#o.proxy?.notReady();
    if (proxy) reasons.push(proxy);
    return reasons.length > 0 ? reasons.join('; ') : null;
  }
}
