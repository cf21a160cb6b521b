// The agent's current cluster identity, shared by every part that uses it for TLS (broker
// client, catalog watch, access proxy, probe server and client). Rotation and trust-bundle
// refresh call update(): the new identity is persisted first, then every subscriber is told,
// so a crash between the two leaves the stored identity ahead, never behind. Subscribers
// swap their TLS material for new connections; open connections are left alone.
import type { IdentityStore, StoredIdentity } from './identity-store.ts';

export type IdentityListener = (next: StoredIdentity, previous: StoredIdentity) => void;

export class LiveIdentity {
  #current: StoredIdentity;
  readonly #store: IdentityStore | undefined;
  readonly #listeners = new Set<IdentityListener>();
  #queue: Promise<unknown> = Promise.resolve();

  /** Without a store, update() only notifies (tests and simulations). */
  constructor(initial: StoredIdentity, store?: IdentityStore) {
    this.#current = initial;
    this.#store = store;
  }

  current(): StoredIdentity {
    return this.#current;
  }

  /** Calls `fn` on every later change; returns the unsubscribe function. */
  subscribe(fn: IdentityListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Persists `next`, then makes it current and notifies. Updates are serialized; a failed
   * save rejects and changes nothing. A listener that throws does not stop the others.
   */
  update(next: StoredIdentity): Promise<void> {
    return this.modify(() => next);
  }

  /**
   * Like update(), but the next identity is computed from the current one when this update's
   * turn comes, so two writers that change different fields (a renewal, a trust-bundle
   * refresh) never undo each other.
   */
  modify(change: (current: StoredIdentity) => StoredIdentity): Promise<void> {
    const run = this.#queue.then(async () => {
      const next = change(this.#current);
      await this.#store?.save(next);
      const previous = this.#current;
      this.#current = next;
      const errors: unknown[] = [];
      for (const fn of [...this.#listeners]) {
        try {
          fn(next, previous);
        } catch (err) {
          errors.push(err);
        }
      }
      if (errors.length > 0) throw new AggregateError(errors, 'an identity listener failed');
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
