// Every Prometheus metric the broker exposes, on one registry owned by this object (no
// global default registry). Gauges that describe stored state are filled by collect
// callbacks registered in main.ts, so a scrape reads current state rather than a cache.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the state gauges show, read from the store and the catalog once per scrape. */
export interface BrokerStateSample {
  readonly now: Date;
  readonly clusters: readonly { readonly id: string; readonly available: boolean; readonly leaseRenewedAt: Date | null }[];
  readonly exports: number;
  readonly services: number;
  readonly conflicts: number;
  readonly revision: number;
  readonly watchStreams: number;
  /** Newest certificate of each active cluster. */
  readonly certificates: readonly { readonly cluster: string; readonly notAfter: Date }[];
  readonly rbacCompliant: number;
}

export class BrokerMetrics {
  readonly registry = new Registry();

  readonly clusters = new Gauge({ name: 'plexus_broker_clusters', help: 'Enrolled clusters, by lease state (live, expired)', labelNames: ['state'] as const, registers: [this.registry], collect: () => this.#fill() });
  readonly leaseAge = new Gauge({ name: 'plexus_broker_cluster_lease_age_seconds', help: 'Seconds since each cluster last renewed its lease', labelNames: ['cluster'] as const, registers: [this.registry], collect: () => this.#fill() });
  readonly watchStreams = new Gauge({ name: 'plexus_broker_watch_streams', help: 'Open catalog watch streams', registers: [this.registry], collect: () => this.#fill() });
  readonly exports = new Gauge({ name: 'plexus_broker_exports', help: 'Exports in the catalog (one per cluster and service)', registers: [this.registry], collect: () => this.#fill() });
  readonly services = new Gauge({ name: 'plexus_broker_services', help: 'Merged services in the catalog', registers: [this.registry], collect: () => this.#fill() });
  readonly conflicts = new Gauge({ name: 'plexus_broker_export_conflicts', help: 'Exports whose properties conflict with the service they join', registers: [this.registry], collect: () => this.#fill() });
  readonly catalogRevision = new Gauge({ name: 'plexus_broker_catalog_revision', help: 'Current catalog revision', registers: [this.registry], collect: () => this.#fill() });
  readonly catalogWrites = new Counter({ name: 'plexus_broker_catalog_writes_total', help: 'Catalog writes, by operation', labelNames: ['op'] as const, registers: [this.registry] });
  readonly certificatesIssued = new Counter({ name: 'plexus_broker_certificates_issued_total', help: 'Certificates issued, by kind (join, renew, user, serving, metrics)', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly renewals = new Counter({ name: 'plexus_broker_renewals_total', help: 'Cluster certificate renewals, by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly certificateExpiry = new Gauge({ name: 'plexus_broker_cluster_certificate_expiry_seconds', help: 'Seconds until the newest certificate issued to each cluster expires', labelNames: ['cluster'] as const, registers: [this.registry], collect: () => this.#fill() });
  readonly caPhase = new Gauge({ name: 'plexus_broker_ca_rollover_phase', help: 'CA rollover phase (0 when no rollover is under way)', registers: [this.registry] });
  readonly rbacCompliant = new Gauge({ name: 'plexus_broker_rbac_compliant_clusters', help: 'Clusters that report the current RBAC baseline revision with no drift', registers: [this.registry], collect: () => this.#fill() });
  readonly requests = new Counter({ name: 'plexus_broker_http_requests_total', help: 'API requests, by route and status code', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  readonly requestDuration = new Histogram({
    name: 'plexus_broker_http_request_duration_seconds', help: 'API request latency, by route', labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [this.registry],
  });

  #source: (() => Promise<BrokerStateSample>) | undefined;
  #filling: Promise<void> | undefined;

  constructor(o: { defaultMetrics?: boolean } = {}) {
    if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'plexus_broker_' });
  }

  /** Where the state gauges read from (main.ts wires broker/metrics/broker-state.ts). */
  setStateSource(source: () => Promise<BrokerStateSample>): void {
    this.#source = source;
  }

  /**
   * Every state gauge's collect callback lands here; the first one of a scrape reads the
   * state once and sets them all, the rest of the same scrape wait for that one read.
   */
  #fill(): Promise<void> {
    if (!this.#source) return Promise.resolve();
    this.#filling ??= this.#source().then((s) => this.#set(s)).finally(() => setImmediate(() => { this.#filling = undefined; }));
    return this.#filling;
  }

  #set(s: BrokerStateSample): void {
    const live = s.clusters.filter((c) => c.available).length;
    this.clusters.set({ state: 'live' }, live);
    this.clusters.set({ state: 'expired' }, s.clusters.length - live);
    this.leaseAge.reset();
    for (const c of s.clusters) {
      if (c.leaseRenewedAt) this.leaseAge.set({ cluster: c.id }, Math.max(0, (s.now.getTime() - c.leaseRenewedAt.getTime()) / 1000));
    }
    this.certificateExpiry.reset();
    for (const c of s.certificates) this.certificateExpiry.set({ cluster: c.cluster }, (c.notAfter.getTime() - s.now.getTime()) / 1000);
    this.exports.set(s.exports);
    this.services.set(s.services);
    this.conflicts.set(s.conflicts);
    this.catalogRevision.set(s.revision);
    this.watchStreams.set(s.watchStreams);
    this.rbacCompliant.set(s.rbacCompliant);
  }
}
