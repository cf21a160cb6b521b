// Every Prometheus metric the agent exposes, on one registry owned by this object (no
// global default registry, so two agents in one test process never share counters).
// Parts receive this object through their options and record on it; main.ts creates it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HotHistogram } from './hot-histogram.ts';

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

export class AgentMetrics {
  readonly registry = new Registry();

  /** 1 while the catalog watch stream to the broker is open. */
  readonly brokerConnected = new Gauge({ name: 'plexus_agent_broker_connected', help: 'Whether the catalog watch stream to the broker is open (1) or not (0)', registers: [this.registry] });
  readonly leaseRenewals = new Counter({ name: 'plexus_agent_lease_renewals_total', help: 'Lease heartbeats sent to the broker, by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly exports = new Gauge({ name: 'plexus_agent_exports', help: 'ServiceExports in this cluster that the broker has accepted', registers: [this.registry] });
  readonly imports = new Gauge({ name: 'plexus_agent_imports', help: 'ServiceImports this agent maintains', registers: [this.registry] });
  readonly importsRefused = new Counter({
    name: 'plexus_agent_imports_refused_total', help: 'Relayed services, exports or endpoint addresses this agent refused to import (export guard), by reason',
    labelNames: ['reason'] as const, registers: [this.registry],
  });
  readonly conflicts = new Gauge({ name: 'plexus_agent_export_conflicts', help: 'ServiceExports in this cluster with a Conflict condition', registers: [this.registry] });
  readonly propagationDelay = new Histogram({
    name: 'plexus_agent_propagation_delay_seconds', help: 'Time from the broker committing a catalog change to this agent applying it',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry],
  });
  /**
   * The DNS server's hot-path tally of answers: index (udp 0, tcp 16) + rcode. A plain
   * increment per query; dnsQueries takes the increase at scrape time.
   */
  readonly dnsAnswers = new Float64Array(32);
  readonly #dnsCounted = new Float64Array(32);
  readonly dnsQueries = new Counter({
    name: 'plexus_agent_dns_queries_total', help: 'clusterset.local DNS queries answered, by rcode and transport', labelNames: ['rcode', 'transport'] as const,
    registers: [this.registry], collect: () => this.#countDnsAnswers(),
  });
  readonly dnsDuration = new HotHistogram({
    name: 'plexus_agent_dns_query_duration_seconds', help: 'Time to answer one DNS query, from parse to reply',
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05], registers: [this.registry],
  });
  /** Computed from certificateNotAfter (which the rotator sets) at every scrape, so it never goes stale between renewals. */
  readonly certificateExpiry = new Gauge({
    name: 'plexus_agent_certificate_expiry_seconds', help: 'Seconds until the cluster certificate expires', registers: [this.registry],
    collect: () => this.#refreshExpiry(),
  });
  readonly certificateNotAfter = new Gauge({ name: 'plexus_agent_certificate_not_after_timestamp_seconds', help: 'Unix time at which the cluster certificate expires', registers: [this.registry] });
  readonly certificateExpiring = new Gauge({ name: 'plexus_agent_certificate_expiring', help: '1 when less than 10% of the cluster certificate lifetime remains', registers: [this.registry] });
  readonly rotations = new Counter({ name: 'plexus_agent_certificate_rotations_total', help: 'Cluster certificate renewals, by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly trustBundleRoots = new Gauge({ name: 'plexus_agent_trust_bundle_roots', help: 'Roots in the trust bundle this agent holds', registers: [this.registry] });
  readonly rbacDriftCorrections = new Counter({ name: 'plexus_agent_rbac_drift_corrections_total', help: 'RBAC baseline objects put back after drift, by kind', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly rbacRevision = new Gauge({ name: 'plexus_agent_rbac_revision', help: 'RBAC baseline revision applied in this cluster', registers: [this.registry] });
  readonly proxyRequests = new Counter({ name: 'plexus_agent_proxy_requests_total', help: 'Access-proxy requests, by decision', labelNames: ['decision'] as const, registers: [this.registry] });
  readonly probeRtt = new Gauge({ name: 'plexus_agent_probe_rtt_seconds', help: 'Smoothed probe round-trip time to each peer cluster', labelNames: ['peer'] as const, registers: [this.registry] });
  readonly peerHealthy = new Gauge({ name: 'plexus_agent_peer_healthy', help: 'Whether each peer cluster answers probes (1) or not (0)', labelNames: ['peer'] as const, registers: [this.registry] });

  readonly #now: () => number;

  /** `now` (ms) is the wall clock certificateExpiry is computed against; default Date.now. */
  constructor(o: { defaultMetrics?: boolean; now?: () => number } = {}) {
    this.#now = o.now ?? Date.now;
    if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'plexus_agent_' });
  }

  async #refreshExpiry(): Promise<void> {
    const notAfter = (await this.certificateNotAfter.get()).values[0]?.value ?? 0;
    if (notAfter > 0) this.certificateExpiry.set(notAfter - this.#now() / 1000);
  }

  #countDnsAnswers(): void {
    for (let i = 0; i < 32; i++) {
      const delta = this.dnsAnswers[i]! - this.#dnsCounted[i]!;
      if (delta <= 0) continue;
      this.#dnsCounted[i] = this.dnsAnswers[i]!;
      this.dnsQueries.inc({ rcode: RCODE_NAMES[i & 15] ?? `RCODE${i & 15}`, transport: i < 16 ? 'udp' : 'tcp' }, delta);
    }
  }
}
