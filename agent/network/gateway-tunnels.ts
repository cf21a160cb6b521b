// The tunnels this agent's imports need through the local gateway: listen ports
// (TunnelPorts) with what each one reaches, as the tunnel table the gateway reads. The
// import reconciler calls assign() per import; the table writer publishes table() when
// it changes. Seeded from the published table at start, so ports survive restarts.
import { TunnelPorts, type PortRange } from './tunnel-ports.ts';
import type { TunnelRequest } from './import-plan.ts';
import { tunnelKey, type TunnelEntry, type TunnelTable } from './tunnel-table.ts';

const ownerOf = (r: Pick<TunnelRequest, 'namespace' | 'name'>) => `${r.namespace}/${r.name}`;

export class GatewayTunnels {
  readonly #ports: TunnelPorts;
  readonly #requests = new Map<string, TunnelRequest>();
  readonly #localAddresses: readonly string[];
  readonly #listeners = new Set<() => void>();
  #version = 0;

  constructor(o: { range: PortRange; localAddresses: readonly string[] }) {
    this.#ports = new TunnelPorts(o.range);
    this.#localAddresses = [...o.localAddresses];
  }

  /** Where imported slices point for tunnelled clusters (the local gateway pod). */
  get localAddresses(): readonly string[] {
    return this.#localAddresses;
  }

  /** Bumped on every change of the table. */
  get version(): number {
    return this.#version;
  }

  /** Takes over a table published before a restart; returns the entries it could not keep. */
  seed(table: TunnelTable): TunnelEntry[] {
    const dropped: TunnelEntry[] = [];
    for (const e of table.tunnels) {
      const key = tunnelKey(e);
      if (!this.#ports.seed(`${e.namespace}/${e.name}`, key, e.listenPort)) dropped.push(e);
      else this.#requests.set(key, { key, cluster: e.cluster, gateway: e.gateway, namespace: e.namespace, name: e.name, port: e.port, protocol: 'TCP', portName: e.portName });
    }
    this.#changed();
    return dropped;
  }

  /** Listen ports for the tunnels one import (namespace/name) needs now; releases the rest of its own. */
  assign(owner: string, requests: readonly TunnelRequest[]): { ports: ReadonlyMap<string, number>; exhausted: readonly string[] } {
    const before = this.#snapshot(owner);
    const result = this.#ports.assign(owner, requests.map((r) => r.key));
    for (const [key, req] of [...this.#requests]) if (ownerOf(req) === owner && !result.ports.has(key)) this.#requests.delete(key);
    for (const r of requests) if (result.ports.has(r.key)) this.#requests.set(r.key, r);
    if (before !== this.#snapshot(owner)) this.#changed();
    return result;
  }

  table(): TunnelTable {
    const tunnels: TunnelEntry[] = [];
    for (const [key, listenPort] of this.#ports.entries()) {
      const r = this.#requests.get(key);
      if (!r) continue;
      tunnels.push({
        listenPort, cluster: r.cluster, gateway: r.gateway, namespace: r.namespace, name: r.name, port: r.port, protocol: r.protocol,
        ...(r.portName ? { portName: r.portName } : {}),
      });
    }
    return { version: 1, localAddresses: [...this.#localAddresses], tunnels };
  }

  onChange(cb: () => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** One import's entries, to tell whether an assign changed the table. */
  #snapshot(owner: string): string {
    return JSON.stringify(this.#ports.entries().filter(([k]) => {
      const r = this.#requests.get(k);
      return r !== undefined && ownerOf(r) === owner;
    }).map(([k, port]) => [port, this.#requests.get(k)]));
  }

  #changed(): void {
    this.#version++;
    for (const l of this.#listeners) l();
  }
}
