// Publishes the tunnel table as the ConfigMap the local gateway reads
// (`plexus-gateway-tunnels`, key `tunnels.json`, in the agent's namespace), and seeds the
// allocator from it at start so listen ports survive restarts. Level-based: after any
// change the latest table is applied (server-side apply) until what was written is what
// GatewayTunnels holds; a failed write is retried after `retryMs`.
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeApi } from '../kube/kube-api.ts';
import { CONFIG_MAPS } from '../kube/resources.ts';
import type { Timers } from '../timing/clock.ts';
import type { GatewayTunnels } from './gateway-tunnels.ts';
import { TUNNEL_TABLE_CONFIG_MAP, TUNNEL_TABLE_KEY, parseTunnelTable, serializeTunnelTable } from './tunnel-table.ts';

export interface TunnelTablePublisherOptions {
  readonly api: Pick<KubeApi, 'get' | 'apply'>;
  readonly namespace: string;
  readonly tunnels: GatewayTunnels;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly retryMs?: number;
}

export class TunnelTablePublisher {
  readonly #o: TunnelTablePublisherOptions;
  #written: string | undefined;
  #running: Promise<void> | undefined;
  #retry: unknown;
  #stopped = false;
  #off: (() => void) | undefined;

  constructor(o: TunnelTablePublisherOptions) {
    this.#o = o;
  }

  /** Reads the published table and seeds the allocator; an unreadable table is logged and replaced. */
  async load(): Promise<void> {
    const cm = await this.#o.api.get(CONFIG_MAPS, { namespace: this.#o.namespace, name: TUNNEL_TABLE_CONFIG_MAP });
    const raw = cm?.data?.[TUNNEL_TABLE_KEY];
    if (raw === undefined) return;
    const table = parseTunnelTable(raw);
    if (typeof table === 'string') {
      this.#o.logger.warn({ problem: table }, 'the published tunnel table is unreadable; allocating afresh');
      return;
    }
    const dropped = this.#o.tunnels.seed(table);
    if (dropped.length > 0) this.#o.logger.warn({ dropped: dropped.length }, 'tunnel table entries outside the port range or taken twice were dropped');
    this.#written = raw;
  }

  start(): void {
    this.#off = this.#o.tunnels.onChange(() => this.#kick());
    this.#kick();
  }

  /** Resolves once the current table is written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  stop(): void {
    this.#stopped = true;
    this.#off?.();
    if (this.#retry !== undefined) this.#o.timers.clearTimeout(this.#retry);
  }

  #kick(): void {
    if (this.#running || this.#stopped) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async #loop(): Promise<void> {
    for (;;) {
      const next = serializeTunnelTable(this.#o.tunnels.table());
      if (next === this.#written || this.#stopped) return;
      try {
        await this.#o.api.apply<V1ConfigMap>(CONFIG_MAPS, {
          apiVersion: 'v1', kind: 'ConfigMap',
          metadata: { name: TUNNEL_TABLE_CONFIG_MAP, namespace: this.#o.namespace, labels: { 'app.kubernetes.io/managed-by': 'plexus' } },
          data: { [TUNNEL_TABLE_KEY]: next },
        });
        this.#written = next;
      } catch (err) {
        this.#o.logger.warn({ err }, 'cannot publish the tunnel table; retrying');
        this.#retry = this.#o.timers.setTimeout(() => this.#kick(), this.#o.retryMs ?? 1000);
        return;
      }
    }
  }
}
