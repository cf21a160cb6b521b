// The names the access proxy refuses: seeded from GET /v1/users/revoked, grown by
// `user-revoked` watch events. Until the first list arrives the proxy refuses everyone
// (fail closed): an agent that just started must not let a revoked person through. It also
// knows how current it is: the last moment it held every revocation the broker had (a full
// list, or a watch bookmark: the stream caught up with the broker). An agent cut off from
// the broker for longer than it may trust that knowledge refuses everyone again (authn.ts).
export class RevokedUsers {
  #names = new Set<string>();
  #ready = false;
  #currentAt: number | undefined;

  /** True once a full list from the broker was applied. */
  get ready(): boolean {
    return this.#ready;
  }

  get size(): number {
    return this.#names.size;
  }

  isRevoked(name: string): boolean {
    return this.#names.has(name);
  }

  /** A full list from the broker, as of `asOf` (when it was asked for). Revocation is final, so names are only ever added. */
  applyList(names: Iterable<string>, asOf: Date): void {
    for (const n of names) this.#names.add(n);
    this.#ready = true;
    this.markCurrent(asOf);
  }

  add(name: string): void {
    this.#names.add(name);
  }

  /** Every revocation the broker had at `at` is known here (never moves back). */
  markCurrent(at: Date): void {
    this.#currentAt = Math.max(this.#currentAt ?? -Infinity, at.getTime());
  }

  /** How long ago this list was last known to be complete; undefined if it never was. */
  staleForMs(now: Date): number | undefined {
    return this.#currentAt === undefined ? undefined : Math.max(0, now.getTime() - this.#currentAt);
  }
}
