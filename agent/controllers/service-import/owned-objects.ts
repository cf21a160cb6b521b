// Reading and writing the objects the import controller owns in one namespace/name: the
// ServiceImport, the derived Service and the imported EndpointSlices. Ownership is the
// Plexus labels; anything without them is never written, pruned or deleted. Writes are
// skipped when the informer cache already holds the desired content, so a reconcile that
// finds nothing new costs no API call.
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import {
  ENDPOINTSLICE_MANAGER, ENDPOINT_SLICES, INDEX_MCS_SERVICE_NAME, LABEL_ENDPOINTSLICE_MANAGED_BY, SERVICES, SERVICE_IMPORTS, jsonEqual,
  type ComponentInformers, type KubeApi, type KubeObject,
} from '../../kube/index.ts';
import { LABEL_SERVICE_NAME } from '../../../crds/types.ts';
import type { ServiceImport } from '../../../crds/types.ts';
import { FIELD_MANAGER, LABEL_MANAGED_BY, MANAGED_BY_PLEXUS } from './import-names.ts';

export function isPlexusOwned(obj: KubeObject | undefined): boolean {
  return obj?.metadata?.labels?.[LABEL_MANAGED_BY] === MANAGED_BY_PLEXUS;
}

function isPlexusSlice(slice: V1EndpointSlice): boolean {
  return isPlexusOwned(slice) && slice.metadata?.labels?.[LABEL_ENDPOINTSLICE_MANAGED_BY] === ENDPOINTSLICE_MANAGER;
}

/** Exact, so a label we stopped setting (e.g. kubernetes.io/service-name after a flip to Headless) triggers an apply. */
function sameLabels(live: KubeObject | undefined, desired: KubeObject): boolean {
  return jsonEqual(live?.metadata?.labels ?? {}, desired.metadata?.labels ?? {});
}

function sameOwners(live: KubeObject | undefined, desired: KubeObject): boolean {
  const pick = (o: KubeObject | undefined) => (o?.metadata?.ownerReferences ?? []).map((r) => ({ kind: r.kind, name: r.name, uid: r.uid }));
  return jsonEqual(pick(live), pick(desired));
}

/**
 * Annotation keys Plexus's field manager applied last time (managedFields), plus any
 * plexus.io/* key: exported annotations come and go with the ServiceExports, and one
 * dropped from the desired set must be noticed so the next apply removes it.
 */
function appliedAnnotationKeys(live: KubeObject | undefined): string[] {
  const keys = Object.keys(live?.metadata?.annotations ?? {}).filter((k) => k.startsWith('plexus.io/'));
  for (const mf of live?.metadata?.managedFields ?? []) {
    if (mf.manager !== FIELD_MANAGER || mf.operation !== 'Apply' || mf.subresource) continue;
    const owned = (mf.fieldsV1 as { 'f:metadata'?: { 'f:annotations'?: Record<string, unknown> } } | undefined)?.['f:metadata']?.['f:annotations'];
    for (const f of Object.keys(owned ?? {})) if (f.startsWith('f:')) keys.push(f.slice(2));
  }
  return keys;
}

/** The annotations Plexus sets match; others belong to someone else and are not compared. */
function sameOwnAnnotations(live: KubeObject | undefined, desired: KubeObject): boolean {
  const want = desired.metadata?.annotations ?? {};
  const have = live?.metadata?.annotations ?? {};
  const keys = new Set([...Object.keys(want), ...appliedAnnotationKeys(live)]);
  for (const k of keys) if (have[k] !== want[k]) return false;
  return true;
}

const servicePorts = (s: V1Service | undefined) =>
  (s?.spec?.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol ?? 'TCP', port: p.port, appProtocol: p.appProtocol }));

export class OwnedObjects {
  readonly #api: KubeApi;
  readonly #informers: ComponentInformers;
  readonly #log: Logger;

  constructor(api: KubeApi, informers: ComponentInformers, log: Logger) {
    this.#api = api;
    this.#informers = informers;
    this.#log = log;
  }

  serviceImport(namespace: string, name: string): ServiceImport | undefined {
    return this.#informers.get(SERVICE_IMPORTS).get(namespace, name);
  }

  service(namespace: string, name: string): V1Service | undefined {
    return this.#informers.get(SERVICES).get(namespace, name);
  }

  /** Applies the ServiceImport unless the cache already holds it; returns the live object. */
  async applyServiceImport(desired: ServiceImport & { metadata: { name: string; namespace: string } }): Promise<ServiceImport> {
    const live = this.serviceImport(desired.metadata.namespace, desired.metadata.name);
    if (live?.metadata?.uid && sameLabels(live, desired) && jsonEqual(live.spec, desired.spec) && sameOwnAnnotations(live, desired)) return live;
    return this.#api.apply(SERVICE_IMPORTS, desired);
  }

  /** Applies the derived Service unless unchanged; its live ClusterIPs are the import's ips. */
  async applyService(desired: V1Service): Promise<V1Service> {
    const live = this.service(desired.metadata!.namespace!, desired.metadata!.name!);
    const unchanged = live?.spec?.clusterIP && sameLabels(live, desired) && sameOwners(live, desired)
      && jsonEqual(servicePorts(live), servicePorts(desired)) && live.spec.selector === undefined
      && live.spec.sessionAffinity === desired.spec?.sessionAffinity
      && live.spec.trafficDistribution === desired.spec?.trafficDistribution
      && jsonEqual(live.spec.sessionAffinityConfig?.clientIP?.timeoutSeconds, desired.spec?.sessionAffinityConfig?.clientIP?.timeoutSeconds);
    return unchanged ? live : this.#api.apply(SERVICES, desired);
  }

  /** Applies each slice that differs from the cache; returns how many were written. */
  async applySlices(desired: readonly V1EndpointSlice[]): Promise<number> {
    let written = 0;
    for (const slice of desired) {
      const live = this.#informers.get(ENDPOINT_SLICES).get(slice.metadata!.namespace!, slice.metadata!.name!);
      if (live && !isPlexusSlice(live)) {
        this.#log.warn({ slice: slice.metadata!.name }, 'an EndpointSlice of that name exists without Plexus labels; leaving it alone');
        continue;
      }
      const unchanged = live && sameLabels(live, slice) && sameOwners(live, slice) && live.addressType === slice.addressType
        && jsonEqual(live.endpoints ?? [], slice.endpoints ?? []) && jsonEqual(live.ports ?? [], slice.ports ?? []);
      if (unchanged) continue;
      await this.#api.apply(ENDPOINT_SLICES, slice);
      written++;
    }
    return written;
  }

  /** Deletes Plexus-owned slices and derived Services of namespace/name not named in `keep`. */
  async prune(namespace: string, name: string, keep: { slices: ReadonlySet<string>; service: string | undefined }): Promise<number> {
    let deleted = 0;
    const slices = this.#informers.get(ENDPOINT_SLICES).byIndex(INDEX_MCS_SERVICE_NAME, `${namespace}/${name}`);
    for (const s of slices) {
      if (!isPlexusSlice(s) || keep.slices.has(s.metadata!.name!)) continue;
      if (await this.#api.delete(ENDPOINT_SLICES, { namespace, name: s.metadata!.name! })) deleted++;
    }
    for (const svc of this.#informers.get(SERVICES).list(namespace)) {
      if (!isPlexusOwned(svc) || svc.metadata?.labels?.[LABEL_SERVICE_NAME] !== name || svc.metadata?.name === keep.service) continue;
      if (await this.#api.delete(SERVICES, { namespace, name: svc.metadata!.name! })) deleted++;
    }
    return deleted;
  }

  /**
   * Removes the whole import. There may be no garbage collector (bare API servers run no
   * kube-controller-manager), so dependents go explicitly before the ServiceImport.
   */
  async removeAll(namespace: string, name: string): Promise<number> {
    let deleted = await this.prune(namespace, name, { slices: new Set(), service: undefined });
    const si = this.serviceImport(namespace, name);
    if (isPlexusOwned(si) && (await this.#api.delete(SERVICE_IMPORTS, { namespace, name }))) deleted++;
    return deleted;
  }
}
