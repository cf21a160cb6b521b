import { describe, expect, it } from 'vitest';
import type { CatalogSnapshot, WatchEvent } from '../../broker/api/catalog.ts';
import { CatalogView } from '../catalog/catalog-view.ts';
import { WatchDispatcher } from './watch-dispatcher.ts';

const snapshot = (revision: number): CatalogSnapshot => ({ revision, services: [], exports: [], clusters: [], advertisements: [] });
const cluster: WatchEvent = { type: 'cluster', revision: 2, state: { cluster: 'east', available: false, leaseRenewedAt: null } };
const exported: WatchEvent = { type: 'export', revision: 3, cluster: 'east', namespace: 'shop', name: 'web', export: null };
const service: WatchEvent = { type: 'service', revision: 4, namespace: 'shop', name: 'web', service: null };
const advertisement: WatchEvent = { type: 'advertisement', revision: 5, cluster: 'east', advertisement: null };
const rbac: WatchEvent = { type: 'rbac', revision: 6, rbacRevision: 3 };
const revoked: WatchEvent = { type: 'user-revoked', revision: 7, name: 'alice', revokedAt: '2030-01-01T00:00:00Z' };

/** A dispatcher with one recorder per named event. */
function recorded() {
  const stream = new WatchDispatcher();
  const seen: string[] = [];
  stream.on('snapshot', (s) => seen.push(`snapshot ${s.revision}`));
  stream.on('catalogChanged', (c) => seen.push(`catalogChanged ${c.type} ${c.revision}`));
  stream.on('rbacChanged', (r) => seen.push(`rbacChanged ${r}`));
  stream.on('userRevoked', (e) => seen.push(`userRevoked ${e.name}`));
  stream.on('bookmark', (r) => seen.push(`bookmark ${r}`));
  return { stream, seen };
}

describe('WatchDispatcher', () => {
  it('turns each thing the stream carries into its named event, and nothing else', () => {
    const { stream, seen } = recorded();
    stream.replace(snapshot(1));
    for (const e of [cluster, exported, service, advertisement, rbac, revoked]) stream.apply(e);
    stream.current(8);
    expect(seen).toEqual([
      'snapshot 1',
      'catalogChanged cluster 2', 'catalogChanged export 3', 'catalogChanged service 4', 'catalogChanged advertisement 5',
      'rbacChanged 3', 'userRevoked alice', 'bookmark 8',
    ]);
  });

  it('treats a bookmark handed to apply() as current() and ignores a relist (the watch client handles those)', () => {
    const { stream, seen } = recorded();
    stream.apply({ type: 'bookmark', revision: 9 });
    stream.apply({ type: 'relist', revision: 10 });
    expect(seen).toEqual(['bookmark 9']);
  });

  it('gives every subscriber of an event the event, in subscription order, until it unsubscribes', () => {
    const stream = new WatchDispatcher();
    const seen: string[] = [];
    const offFirst = stream.on('userRevoked', (e) => seen.push(`first ${e.name}`));
    stream.on('userRevoked', (e) => seen.push(`second ${e.name}`));
    stream.apply(revoked);
    offFirst();
    stream.apply({ ...revoked, revision: 8, name: 'bob' });
    expect(seen).toEqual(['first alice', 'second alice', 'second bob']);
  });

  it('still delivers to later subscribers when one throws, then rethrows the first error (the watch client redelivers)', () => {
    const stream = new WatchDispatcher();
    const seen: string[] = [];
    const first = new Error('catalog broke');
    stream.on('catalogChanged', () => { throw first; });
    stream.on('catalogChanged', () => { throw new Error('second'); });
    stream.on('catalogChanged', (c) => seen.push(c.type));
    expect(() => stream.apply(cluster)).toThrow(first);
    expect(seen).toEqual(['cluster']);
  });

  it('keeps the catalog view to catalog events: a revocation or an RBAC change neither reaches it nor moves its revision', () => {
    const stream = new WatchDispatcher();
    const view = new CatalogView();
    view.follow(stream);
    const names: string[] = [];
    stream.on('userRevoked', (e) => names.push(e.name));
    stream.replace(snapshot(1));
    stream.apply(cluster);
    expect(view.revision).toBe(2);
    expect(view.isAvailable('east')).toBe(false);
    stream.apply(rbac);
    stream.apply(revoked);
    expect(view.revision).toBe(2);
    expect(names).toEqual(['alice']);
  });
});
