// The gateway's Prometheus metrics. Label sets are bounded: `peer` is a cluster name only
// once its certificate verified against the clusterset root (else "unverified"), `service`
// is an exported namespace/name (else "-"), `reason` is one of refusal.ts's closed set.
// Bytes are added when a stream ends (from the TCP socket's counters, so the data path does
// no per-chunk bookkeeping); a stream still open is in streams_active, not yet in bytes.
import { Counter, Gauge, Registry } from 'prom-client';

export type Side = 'in' | 'out';

export class GatewayMetrics {
  readonly registry: Registry;
  readonly streams: Counter<'side' | 'peer' | 'service'>;
  readonly streamsActive: Gauge<'side' | 'peer'>;
  readonly bytes: Counter<'side' | 'peer' | 'service' | 'direction'>;
  readonly refusals: Counter<'side' | 'peer' | 'reason'>;
  readonly handshakeFailures: Counter<'side' | 'reason'>;
  readonly connections: Counter<'side'>;
  readonly sessions: Gauge<'side'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.streams = new Counter({ name: 'plexus_gateway_streams_total', help: 'Streams carried, by side (in: served for a peer, out: opened to a peer), peer cluster and service', labelNames: ['side', 'peer', 'service'] as const, registers });
    this.streamsActive = new Gauge({ name: 'plexus_gateway_streams_active', help: 'Streams open now, by side and peer cluster', labelNames: ['side', 'peer'] as const, registers });
    this.bytes = new Counter({ name: 'plexus_gateway_bytes_total', help: 'Bytes carried by ended streams, by side, peer cluster, service and direction (sent to / received from the peer gateway)', labelNames: ['side', 'peer', 'service', 'direction'] as const, registers });
    this.refusals = new Counter({ name: 'plexus_gateway_refusals_total', help: 'Streams refused, by side (in: this gateway refused, out: the peer refused ours), peer cluster and reason', labelNames: ['side', 'peer', 'reason'] as const, registers });
    this.handshakeFailures = new Counter({ name: 'plexus_gateway_handshake_failures_total', help: 'TLS handshakes that failed, by side and reason', labelNames: ['side', 'reason'] as const, registers });
    this.connections = new Counter({ name: 'plexus_gateway_connections_total', help: 'TLS connections between gateways, accepted (in) or opened (out)', labelNames: ['side'] as const, registers });
    this.sessions = new Gauge({ name: 'plexus_gateway_sessions', help: 'HTTP/2 sessions between gateways open now, by side', labelNames: ['side'] as const, registers });
  }

  /** The value of one labelled series (tests and the benchmark). */
  async value(name: string, labels: Record<string, string>): Promise<number> {
    const metric = (await this.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const entries = Object.entries(labels);
    return (metric?.values ?? [])
      .filter((v) => entries.every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
