// The names the access proxy refuses: seeded from GET /v1/users/revoked, grown by
// `user-revoked` watch events. Until the first list arrives the proxy refuses everyone
// (fail closed): an agent that just started must not let a revoked person through.
export class RevokedUsers {
  #names = new Set<string>();
  #ready = false;

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

  /** A full list from the broker. Revocation is final, so names are only ever added. */
  applyList(names: Iterable<string>): void {
    for (const n of names) this.#names.add(n);
    this.#ready = true;
  }

  add(name: string): void {
    this.#names.add(name);
  }
}
