// Reads what the broker's state gauges show (BrokerStateSample) from the store and the
// catalog, once per scrape. Read-only: it never writes, and it reads nothing secret.
import type { Clock } from '../clock.ts';
import type { ClusterRecord } from '../enroll/enroll-store.ts';
import type { BrokerStateSample } from './broker-metrics.ts';

/** The catalog reads this needs (broker/catalog/Catalog satisfies it). */
export interface CatalogState {
  readonly revision: number;
  readonly watchers: number;
  snapshot(): {
    readonly services: readonly { readonly members: readonly { readonly conflicts: readonly unknown[] }[] }[];
    readonly exports: readonly unknown[];
    readonly clusters: readonly { readonly cluster: string; readonly available: boolean; readonly leaseRenewedAt: string | null }[];
  };
}

export interface BrokerStateDeps {
  readonly store: { listClusters(): Promise<ClusterRecord[]> };
  readonly clock: Clock;
  /** Absent when the broker runs without a catalog (tests). */
  readonly catalog?: CatalogState | undefined;
  /** How many active clusters are RBAC-compliant (broker/rbac/RbacService.compliance). */
  readonly rbacCompliant: () => Promise<number>;
}

export function brokerStateSource(d: BrokerStateDeps): () => Promise<BrokerStateSample> {
  return async () => {
    const now = d.clock.now();
    const active = (await d.store.listClusters()).filter((c) => c.state === 'active');
    const certificates = active.flatMap((c) => (c.certificateNotAfter ? [{ cluster: c.id, notAfter: c.certificateNotAfter }] : []));
    const snap = d.catalog?.snapshot();
    let conflicts = 0;
    for (const s of snap?.services ?? []) for (const m of s.members) if (m.conflicts.length > 0) conflicts++;
    return {
      now,
      clusters: (snap?.clusters ?? []).map((c) => ({ id: c.cluster, available: c.available, leaseRenewedAt: c.leaseRenewedAt ? new Date(c.leaseRenewedAt) : null })),
      exports: snap?.exports.length ?? 0,
      services: snap?.services.length ?? 0,
      conflicts,
      revision: d.catalog?.revision ?? 0,
      watchStreams: d.catalog?.watchers ?? 0,
      certificates,
      rbacCompliant: await d.rbacCompliant(),
    };
  };
}
