// Level-based reconcile of one imported service (`namespace/name`) in this cluster: reads
// the catalog view and the informer caches, never the event that woke it. Every member
// cluster gets the ServiceImport, exporters included, but only where the namespace exists
// (namespace sameness). Steps, in order: ServiceImport spec → derived Service (ClusterSetIP)
// → ServiceImport ips → EndpointSlices → prune → status, written once and only when changed.
import type { ExportRecord, MergedService } from '../../../broker/api/catalog.ts';
import { SERVICE_IMPORT, type ServiceImportStatus } from '../../../crds/types.ts';
import { AgentError } from '../../errors.ts';
import {
  NAMESPACES, SERVICE_IMPORTS, TerminalError, jsonEqual, parseKey,
  type ComponentInformers, type KubeApi, type ReconcileContext, type Reconciler, type ResourceType, type StatusWriter, type WithStatus,
} from '../../kube/index.ts';
import {
  NO_ADDRESSING, desiredDerivedService, desiredEndpointSlices, desiredImportStatus, desiredRankingAnnotations, desiredServiceImport,
  effectiveTrafficDistribution, importAddressing, readyCondition, type ImportAddressing, type ImportInputs,
} from './desired-state.ts';
import { derivedServiceName } from './import-names.ts';
import { OwnedObjects, isPlexusOwned } from './owned-objects.ts';
import type { ImportTopology } from '../../topology/import-ranking.ts';
import type { AgentMetrics } from '../../metrics/agent-metrics.ts';
import { systemClock, type Clock } from '../../timing/clock.ts';
import { mergeConditions } from '../../kube/conditions.ts';
import type { IPFamily } from '../../../broker/api/catalog.ts';
import type { ServedFamiliesReader } from './served-families.ts';
import { sourceClusters } from '../../catalog/source-clusters.ts';
import { resolveSources, type ImportNetwork } from '../../network/import-network.ts';

/** What the reconciler reads of the catalog (agent/catalog/CatalogView provides it). */
export interface ImportCatalogReader {
  readonly synced: boolean;
  get(namespace: string, name: string): MergedService | undefined;
  exportsOf(namespace: string, name: string): readonly ExportRecord[];
  isAvailable(cluster: string): boolean;
}

export interface ServiceImportReconcilerDeps {
  api: KubeApi;
  /** Declared with NAMESPACES, SERVICE_IMPORTS, SERVICES and ENDPOINT_SLICES. */
  informers: ComponentInformers;
  status: StatusWriter;
  catalog: ImportCatalogReader;
  /** Nearest-instance ranking (zone hints, ranking annotation); optional. */
  topology?: ImportTopology | undefined;
  /** ServiceImports maintained, as a gauge. */
  metrics?: Pick<AgentMetrics, 'imports'> | undefined;
  /** lastTransitionTime of the Ready condition (default: the system clock). */
  clock?: Clock | undefined;
  /** The IP families this cluster serves, for Headless imports; without it, every family is assumed served. */
  servedFamilies?: ServedFamiliesReader | undefined;
  /**
   * Networks and gateways (agent/network): source clusters on another network are reached
   * through the local gateway or left out; without it, one shared network (pod to pod).
   */
  network?: ImportNetwork | undefined;
}

export class ServiceImportReconciler implements Reconciler {
  readonly #d: ServiceImportReconcilerDeps;
  /** Keys whose ServiceImport this agent last converged. */
  readonly #imported = new Set<string>();

  constructor(deps: ServiceImportReconcilerDeps) {
    this.#d = deps;
  }

  async reconcile(key: string, ctx: ReconcileContext): Promise<void> {
    const parsed = parseKey(key);
    if (!parsed?.namespace) throw new TerminalError(`"${key}" is not a namespace/name key`);
    const { namespace, name } = parsed;
    const { catalog, informers } = this.#d;
    // Before the first snapshot, absence means "not known yet", not "withdrawn".
    if (!catalog.synced) throw new AgentError('PLX_AGENT_CATALOG_NOT_SYNCED', 'the broker catalog has not been synced yet');
    const objects = new OwnedObjects(this.#d.api, informers, ctx.log);
    const service = catalog.get(namespace, name);
    const ns = informers.get(NAMESPACES).get(undefined, namespace);
    if (!service || !ns || ns.metadata?.deletionTimestamp) this.#d.network?.tunnels?.assign(key, []);
    if (!service) {
      const deleted = await objects.removeAll(namespace, name);
      if (deleted > 0) ctx.log.info({ deleted }, 'import withdrawn');
      this.#count(key, false);
      return;
    }
    if (!ns || ns.metadata?.deletionTimestamp) return this.#count(key, false); // namespace sameness: nothing to create here
    const live = objects.serviceImport(namespace, name);
    if (live && !isPlexusOwned(live)) {
      throw new TerminalError(`ServiceImport ${key} exists without the Plexus ownership label; not touching it`);
    }
    const base = { service, exports: catalog.exportsOf(namespace, name), isAvailable: (c: string) => catalog.isAvailable(c), topology: this.#d.topology };
    await this.#converge(objects, this.#withNetwork(base), ctx);
    this.#count(key, true);
  }

  /**
   * The routes of the import's candidate source clusters (members exporting it, available
   * or not, so a lease flap keeps their listen ports): tunnels are allocated for those on
   * other networks, and excluded ones stop counting as sources (status.clusters, slices,
   * ranking).
   */
  #withNetwork(inputs: ImportInputs): ImportInputs {
    const network = this.#d.network;
    if (!network) return inputs;
    const candidates = new Set(sourceClusters({ ...inputs, isAvailable: () => true }));
    const sources = resolveSources(inputs.service, inputs.exports.filter((e) => candidates.has(e.cluster)), network);
    return { ...inputs, sources, isRoutable: (c) => sources.get(c)?.kind !== 'excluded' };
  }

  #count(key: string, imported: boolean): void {
    if (imported) this.#imported.add(key);
    else this.#imported.delete(key);
    this.#d.metrics?.imports.set(this.#imported.size);
  }

  /**
   * Unknown (every family assumed served, as before this was asked) when the API server
   * cannot answer, e.g. an admission webhook refuses dry runs: a Headless import still
   * converges, and the next reconcile asks again.
   */
  async #servedFamilies(namespace: string, ctx: ReconcileContext): Promise<readonly IPFamily[] | undefined> {
    try {
      return await this.#d.servedFamilies?.families(namespace);
    } catch (err) {
      ctx.log.warn({ err }, 'cannot tell which IP families this cluster serves; assuming all of them');
      return undefined;
    }
  }

  async #converge(objects: OwnedObjects, inputs: ImportInputs, ctx: ReconcileContext): Promise<void> {
    const { service } = inputs;
    const { namespace, name } = service;
    const serviceName = derivedServiceName(namespace, name);
    const existing = objects.service(namespace, serviceName);
    const served = service.type === 'ClusterSetIP' ? undefined : await this.#servedFamilies(namespace, ctx);
    const known = service.type === 'ClusterSetIP' && !isPlexusOwned(existing) ? NO_ADDRESSING : importAddressing(inputs, existing, served);
    const annotations = desiredRankingAnnotations(inputs);
    const trafficDistribution = effectiveTrafficDistribution(service, inputs.topology !== undefined);
    const siOf = (addressing: ImportAddressing) => desiredServiceImport(service, { addressing, annotations, trafficDistribution });
    let si = await objects.applyServiceImport(siOf(known));
    const owner = { name, uid: si.metadata!.uid! };

    const derived = desiredDerivedService(service, owner, { trafficDistribution });
    if (derived && existing && !isPlexusOwned(existing)) {
      throw new TerminalError(`Service ${namespace}/${serviceName} exists without Plexus labels; cannot derive the ClusterSetIP`);
    }
    let addressing = known;
    if (derived) {
      const applied = await objects.applyService(derived);
      addressing = importAddressing(inputs, applied);
      if (!jsonEqual(addressing, known)) si = await objects.applyServiceImport(siOf(addressing));
    }

    const slices = desiredEndpointSlices(inputs, owner, { served });
    const written = await objects.applySlices(slices);
    const deleted = await objects.prune(namespace, name, {
      slices: new Set(slices.map((s) => s.metadata!.name!)),
      service: derived ? serviceName : undefined,
    });
    const conditions = mergeConditions(si.status?.conditions as unknown[] | undefined, [readyCondition(inputs, addressing)], (this.#d.clock ?? systemClock).now());
    const status = { ...desiredImportStatus(inputs), conditions } as unknown as ServiceImportStatus;
    const statusWritten = await this.#d.status.apply(SERVICE_IMPORTS as ResourceType<WithStatus<ServiceImportStatus>>, si, status);
    if (written + deleted > 0 || statusWritten) {
      ctx.log.info({ kind: SERVICE_IMPORT.kind, type: service.type, slices: slices.length, written, deleted, ready: conditions[0]!.reason }, 'import reconciled');
    }
  }
}
