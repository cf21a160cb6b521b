// Turns the import state into resolver records (Lighthouse's feeder layer). ServiceImports
// from this cluster's informer give type, clusterset IPs and ports; the broker catalog
// (CatalogView) gives headless endpoints of available, non-excluded exporters. Until the
// catalog's first snapshot (an agent started while the broker is down), headless endpoints
// come from this cluster's imported EndpointSlices instead: the last state the import
// controller applied, which a broker outage leaves in place. Every event only names a
// namespace/name, and the feeder rebuilds that service from current state (level-based).
// Nothing here runs per query.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { isIPv4 } from 'node:net';
import type { Logger } from 'pino';
import type { ExportRecord, MergedService } from '../../broker/api/catalog.ts';
import { LABEL_SERVICE_NAME as MCS_LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER, type ServiceImport } from '../../crds/types.ts';
import { sourceClusters } from '../catalog/source-clusters.ts';
import {
  ENDPOINTSLICE_MANAGER, ENDPOINT_SLICES, INDEX_MCS_SERVICE_NAME, LABEL_ENDPOINTSLICE_MANAGED_BY, SERVICE_IMPORTS,
  type ComponentInformers, type InformerRegistry,
} from '../kube/index.ts';
import { stableEndpointOrder, type EndpointOrder } from './endpoint-order.ts';
import type { HeadlessEndpoint, Resolver, ServiceRecords } from './resolver.ts';

/** The catalog as the feeder consumes it (agent/catalog/CatalogView provides it). */
export interface DnsCatalog {
  get(namespace: string, name: string): MergedService | undefined;
  exportsOf(namespace: string, name: string): ExportRecord[];
  isAvailable(cluster: string): boolean;
  onChange(cb: (namespace: string, name: string) => void): void;
  /** False until the first snapshot: headless endpoints are not known yet. */
  readonly synced: boolean;
  whenSynced(): Promise<void>;
}

export interface DnsFeederDeps {
  readonly resolver: Resolver;
  readonly informers: InformerRegistry;
  readonly catalog: DnsCatalog;
  readonly logger: Logger;
  readonly order?: EndpointOrder;
  /**
   * Which exporters' pods this cluster reaches directly (agent/network/NetworkView: same
   * network). Headless answers are pod addresses, so clusters on other networks are left
   * out of them; absent = one shared network. Its onChange rebuilds the services it names.
   */
  readonly network?: HeadlessNetwork | undefined;
}

export interface HeadlessNetwork {
  reachesDirectly(cluster: string): boolean;
  onChange(cb: (namespace: string, name: string) => void): unknown;
}

export const DNS_COMPONENT = 'dns';

type OrderedEndpoint = HeadlessEndpoint & { readonly zone?: string | undefined };

/** Ready endpoints of the exporters whose endpoints are imported: members, not excluded, available, on a network reached directly. */
export function headlessEndpoints(
  catalog: Pick<DnsCatalog, 'get' | 'exportsOf' | 'isAvailable'>, namespace: string, name: string, reachesDirectly?: (cluster: string) => boolean,
): OrderedEndpoint[] {
  const service = catalog.get(namespace, name);
  if (!service) return [];
  const exports = catalog.exportsOf(namespace, name);
  // The rule the import controller follows too, so DNS and the imported slices count the same exporters.
  const included = new Set(sourceClusters({ service, exports, isAvailable: (c) => catalog.isAvailable(c), isRoutable: reachesDirectly }));
  const out: OrderedEndpoint[] = [];
  for (const record of exports) {
    if (!included.has(record.cluster)) continue;
    for (const ep of record.endpoints) {
      out.push({ cluster: record.cluster, addresses: ep.addresses, hostname: ep.hostname, zone: ep.zone, ports: record.endpointPorts });
    }
  }
  return out;
}

/** Ready endpoints of the EndpointSlices the import controller wrote for one service (slices of others are ignored). */
export function importedEndpoints(slices: readonly V1EndpointSlice[]): OrderedEndpoint[] {
  const out: OrderedEndpoint[] = [];
  const ours = slices.filter((s) => s.metadata?.labels?.[LABEL_ENDPOINTSLICE_MANAGED_BY] === ENDPOINTSLICE_MANAGER && s.metadata.labels[LABEL_SOURCE_CLUSTER]);
  for (const s of [...ours].sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1))) {
    const cluster = s.metadata!.labels![LABEL_SOURCE_CLUSTER]!;
    const ports = (s.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: p.port ?? 0 }));
    for (const ep of s.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      out.push({ cluster, addresses: ep.addresses, hostname: ep.hostname, zone: ep.zone, ports });
    }
  }
  return out;
}

/**
 * The headless endpoints this cluster's pods can use: none when the import says
 * Ready=False IPFamilyNotSupported, else only the addresses of the import's `ipFamilies`
 * (the exporters' families this cluster serves; all when it names none). An address of a
 * family the pods cannot reach would only make clients try it and fail.
 */
export function servedEndpoints(si: ServiceImport, endpoints: OrderedEndpoint[]): OrderedEndpoint[] {
  if (si.status?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'IPFamilyNotSupported')) return [];
  const families: readonly string[] = si.spec?.ipFamilies ?? [];
  if (families.length === 0) return endpoints;
  return endpoints
    .map((ep) => ({ ...ep, addresses: ep.addresses.filter((a) => families.includes(isIPv4(a) ? 'IPv4' : 'IPv6')) }))
    .filter((ep) => ep.addresses.length > 0);
}

/**
 * The records of one service from its ServiceImport (and, for headless, the catalog; before
 * the catalog's first snapshot, the imported slices, or 'pending' when there are none).
 */
export function serviceRecords(
  si: ServiceImport | undefined, catalog: Pick<DnsCatalog, 'get' | 'exportsOf' | 'isAvailable' | 'synced'>, order: EndpointOrder,
  importedSlices: (namespace: string, name: string) => readonly V1EndpointSlice[] = () => [],
  reachesDirectly?: (cluster: string) => boolean,
): ServiceRecords | 'pending' | undefined {
  if (!si?.metadata?.namespace || !si.metadata.name) return undefined;
  const { namespace, name } = si.metadata;
  const ports = (si.spec?.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: p.port }));
  if (si.spec?.type === 'Headless') {
    if (!catalog.synced) {
      const slices = importedSlices(namespace, name);
      if (slices.length === 0) return 'pending';
      return { type: 'Headless', ports, endpoints: order.order(namespace, name, servedEndpoints(si, importedEndpoints(slices))) };
    }
    return { type: 'Headless', ports, endpoints: order.order(namespace, name, servedEndpoints(si, headlessEndpoints(catalog, namespace, name, reachesDirectly))) };
  }
  return { type: 'ClusterSetIP', ips: si.spec?.ips ?? [], ports };
}

export class DnsFeeder {
  readonly #d: DnsFeederDeps;
  readonly #order: EndpointOrder;
  readonly #informers: ComponentInformers;
  readonly #log: Logger;
  #started = false;
  #stopped = false;

  constructor(d: DnsFeederDeps) {
    this.#d = d;
    this.#order = d.order ?? stableEndpointOrder;
    this.#log = d.logger.child({ component: DNS_COMPONENT });
    // Declared at construction so asking for an undeclared informer fails at wiring time.
    this.#informers = d.informers.declare(DNS_COMPONENT, [SERVICE_IMPORTS, ENDPOINT_SLICES]);
    const rebuild = (namespace: string, name: string) => { if (this.#started) this.rebuild(namespace, name); };
    this.#informers.get(SERVICE_IMPORTS).onChange((si) => {
      if (si.metadata?.namespace && si.metadata.name) rebuild(si.metadata.namespace, si.metadata.name);
    });
    // Imported slices matter only until the catalog's first snapshot; after it, catalog events rebuild.
    this.#informers.get(ENDPOINT_SLICES).onChange((s) => {
      const svc = s.metadata?.labels?.[MCS_LABEL_SERVICE_NAME];
      if (!d.catalog.synced && s.metadata?.namespace && svc) rebuild(s.metadata.namespace, svc);
    });
    d.catalog.onChange(rebuild);
    this.#order.onChange?.(rebuild);
    d.network?.onChange(rebuild);
  }

  /**
   * Waits for the ServiceImport and EndpointSlice caches only, loads every service, then
   * follows changes. A broker that is down at start holds no answer back: ClusterSetIP
   * answers come from this cluster's ServiceImports, headless ones from its imported
   * EndpointSlices until the catalog's first snapshot (SERVFAIL only for a headless
   * import with no slice yet), whose events then rebuild them from the catalog.
   */
  async start(): Promise<void> {
    await this.#informers.waitForSync();
    if (this.#stopped) return;
    this.#started = true;
    this.rebuildAll();
    this.#d.resolver.markReady();
    // Headless services the first snapshot does not mention get no event: rebuild them all.
    void this.#d.catalog.whenSynced().then(() => { if (this.#started) this.rebuildAll(); });
    this.#log.info({ services: this.#informers.get(SERVICE_IMPORTS).list().length }, 'DNS records loaded');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#started = false;
  }

  rebuild(namespace: string, name: string): void {
    const si = this.#informers.get(SERVICE_IMPORTS).get(namespace, name);
    const slices = this.#informers.get(ENDPOINT_SLICES);
    this.#d.resolver.setService(namespace, name, serviceRecords(si, this.#d.catalog, this.#order, (ns, n) => slices.byIndex(INDEX_MCS_SERVICE_NAME, `${ns}/${n}`),
      this.#d.network && ((c) => this.#d.network!.reachesDirectly(c))));
  }

  rebuildAll(): void {
    for (const si of this.#informers.get(SERVICE_IMPORTS).list()) {
      if (si.metadata?.namespace && si.metadata.name) this.rebuild(si.metadata.namespace, si.metadata.name);
    }
  }
}
