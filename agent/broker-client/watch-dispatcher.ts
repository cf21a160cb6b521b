// The catalog watch's one consumer: it turns what the stream carries into named events and
// each part subscribes to the ones it owns — the catalog view to snapshots and catalog
// changes, the access proxy's revocation feed to user revocations, bookmarks and snapshots,
// the RBAC controller to baseline changes and snapshots. No part sits in front of another,
// so tracing the catalog never passes through the proxy. Pure: no I/O, no timers.
import type { CatalogSnapshot, WatchEvent } from '../../broker/api/catalog.ts';
import type { CatalogSink } from './watch-client.ts';

/** The events that change the catalog itself (what CatalogView holds). */
export type CatalogChange = Extract<WatchEvent, { type: 'export' | 'service' | 'cluster' | 'advertisement' }>;
export type UserRevokedEvent = Extract<WatchEvent, { type: 'user-revoked' }>;

export interface WatchDispatcherEvents {
  /** The whole catalog (the first snapshot and every relist): replace what you hold; events since may be compacted. */
  snapshot: (snapshot: CatalogSnapshot) => void;
  /** One export, merged service, cluster state or advertisement changed. */
  catalogChanged: (change: CatalogChange) => void;
  /** The RBAC baseline (or its targeting) changed at the broker: refetch it. */
  rbacChanged: (rbacRevision: number) => void;
  /** A person's shared identity was revoked. */
  userRevoked: (event: UserRevokedEvent) => void;
  /** The stream is at the broker's head: every event up to `revision` was delivered. */
  bookmark: (revision: number) => void;
}

type Listeners = { [K in keyof WatchDispatcherEvents]: Set<WatchDispatcherEvents[K]> };

export class WatchDispatcher implements CatalogSink {
  readonly #listeners: Listeners = { snapshot: new Set(), catalogChanged: new Set(), rbacChanged: new Set(), userRevoked: new Set(), bookmark: new Set() };

  /** Subscribes `listener`; returns its unsubscribe. Listeners run in subscription order. */
  on<K extends keyof WatchDispatcherEvents>(event: K, listener: WatchDispatcherEvents[K]): () => void {
    (this.#listeners[event] as Set<WatchDispatcherEvents[K]>).add(listener);
    return () => { (this.#listeners[event] as Set<WatchDispatcherEvents[K]>).delete(listener); };
  }

  replace(snapshot: CatalogSnapshot): void {
    this.#emit('snapshot', snapshot);
  }

  apply(event: WatchEvent): void {
    switch (event.type) {
      case 'export':
      case 'service':
      case 'cluster':
      case 'advertisement':
        return this.#emit('catalogChanged', event);
      case 'rbac': return this.#emit('rbacChanged', event.rbacRevision);
      case 'user-revoked': return this.#emit('userRevoked', event);
      // The watch client hands bookmarks to current() and handles relists itself.
      case 'bookmark': return this.current(event.revision);
      case 'relist': return;
    }
  }

  current(revision: number): void {
    this.#emit('bookmark', revision);
  }

  /**
   * Every listener gets the event even when an earlier one throws (a failing catalog must not
   * keep a revocation from the proxy); then the first error is rethrown, so the watch client
   * treats the delivery as failed, reconnects and delivers it again from its revision.
   */
  #emit<K extends keyof WatchDispatcherEvents>(event: K, ...args: Parameters<WatchDispatcherEvents[K]>): void {
    let failed: { err: unknown } | undefined;
    for (const listener of [...this.#listeners[event]]) {
      try {
        (listener as (...a: Parameters<WatchDispatcherEvents[K]>) => void)(...args);
      } catch (err) {
        failed ??= { err };
      }
    }
    if (failed) throw failed.err;
  }
}
