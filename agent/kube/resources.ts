// The API resources the agent reads or writes, described once: group/version, plural,
// scope and the secondary indexes their informer caches keep. Objects stay the raw JSON
// the API server sent (timestamps are strings), in caches and in writes alike.
import type { KubernetesObject, V1ConfigMap, V1EndpointSlice, V1Namespace, V1Service } from '@kubernetes/client-node';
import {
  CLUSTER_PROPERTY, LABEL_SERVICE_NAME as MCS_LABEL_SERVICE_NAME, SERVICE_EXPORT, SERVICE_IMPORT, apiVersionOf,
  type ClusterProperty, type ServiceExport, type ServiceImport,
} from '../../crds/types.ts';

export type KubeObject = KubernetesObject;

/** Index function: the values under which an object is found (empty: not indexed). */
export type IndexFunc<T> = (obj: T) => readonly string[];

export interface ResourceType<T extends KubeObject = KubeObject> {
  readonly kind: string;
  /** `v1` for the core group, else `<group>/<version>`. */
  readonly apiVersion: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly indexes?: Readonly<Record<string, IndexFunc<T>>>;
  /** Informers list and watch only objects matching this label selector (e.g. what Plexus owns). */
  readonly labelSelector?: string;
  /** Likewise a field selector; `metadata.name=X` also lets RBAC restrict list/watch by resourceNames. */
  readonly fieldSelector?: string;
}

/** Stable identity of a resource type, e.g. `discovery.k8s.io/v1/endpointslices`. */
export function resourceId(r: ResourceType<never>): string {
  return `${r.apiVersion}/${r.plural}`;
}

export interface PathOptions {
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: 'status' | undefined;
}

/** REST path of a collection, an object or its subresource. */
export function resourcePath(r: ResourceType<never>, o: PathOptions = {}): string {
  const root = r.apiVersion.includes('/') ? `/apis/${r.apiVersion}` : `/api/${r.apiVersion}`;
  const ns = r.namespaced && o.namespace ? `/namespaces/${encodeURIComponent(o.namespace)}` : '';
  const name = o.name === undefined ? '' : `/${encodeURIComponent(o.name)}`;
  const sub = o.subresource && o.name !== undefined ? `/${o.subresource}` : '';
  return `${root}${ns}/${r.plural}${name}${sub}`;
}

/** Label the EndpointSlice controller puts on the slices of a Service. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

/** Keeps the built-in EndpointSlice controller away from imported slices. */
export const LABEL_ENDPOINTSLICE_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
// Label values may not contain '/', so not "plexus.io/agent"; domain-style like
// the built-in controller's own "endpointslice-controller.k8s.io".
/** The value on the slices the import controller writes, and what DNS reads them by. */
export const ENDPOINTSLICE_MANAGER = 'agent.plexus.io';

/** EndpointSlice index: `<namespace>/<kubernetes.io/service-name>`. */
export const INDEX_SERVICE_NAME = 'service-name';
/** EndpointSlice index: `<namespace>/<multicluster.kubernetes.io/service-name>` (imported slices). */
export const INDEX_MCS_SERVICE_NAME = 'mcs-service-name';

function labelIndex(label: string): IndexFunc<V1EndpointSlice> {
  return (s) => {
    const v = s.metadata?.labels?.[label];
    return v ? [`${s.metadata?.namespace ?? ''}/${v}`] : [];
  };
}

export const SERVICES: ResourceType<V1Service> = { kind: 'Service', apiVersion: 'v1', plural: 'services', namespaced: true };
export const NAMESPACES: ResourceType<V1Namespace> = { kind: 'Namespace', apiVersion: 'v1', plural: 'namespaces', namespaced: false };
export const ENDPOINT_SLICES: ResourceType<V1EndpointSlice> = {
  kind: 'EndpointSlice',
  apiVersion: 'discovery.k8s.io/v1',
  plural: 'endpointslices',
  namespaced: true,
  indexes: { [INDEX_SERVICE_NAME]: labelIndex(LABEL_SERVICE_NAME), [INDEX_MCS_SERVICE_NAME]: labelIndex(MCS_LABEL_SERVICE_NAME) },
};
export const SERVICE_EXPORTS: ResourceType<ServiceExport> = {
  kind: SERVICE_EXPORT.kind, apiVersion: apiVersionOf(SERVICE_EXPORT), plural: SERVICE_EXPORT.plural, namespaced: true,
};
export const SERVICE_IMPORTS: ResourceType<ServiceImport> = {
  kind: SERVICE_IMPORT.kind, apiVersion: apiVersionOf(SERVICE_IMPORT), plural: SERVICE_IMPORT.plural, namespaced: true,
};
export const CLUSTER_PROPERTIES: ResourceType<ClusterProperty> = {
  kind: CLUSTER_PROPERTY.kind, apiVersion: apiVersionOf(CLUSTER_PROPERTY), plural: CLUSTER_PROPERTY.plural, namespaced: false,
};

/** Label on every RBAC object the baseline controller owns (agent/rbac/); its informers see only these. */
export const LABEL_RBAC_OWNED = 'rbac.plexus.io/owned';
const rbacOwned = `${LABEL_RBAC_OWNED}=true`;
export const CLUSTER_ROLES: ResourceType<KubeObject> = {
  kind: 'ClusterRole', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'clusterroles', namespaced: false, labelSelector: rbacOwned,
};
export const CLUSTER_ROLE_BINDINGS: ResourceType<KubeObject> = {
  kind: 'ClusterRoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'clusterrolebindings', namespaced: false, labelSelector: rbacOwned,
};
export const ROLES: ResourceType<KubeObject> = {
  kind: 'Role', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'roles', namespaced: true, labelSelector: rbacOwned,
};
export const ROLE_BINDINGS: ResourceType<KubeObject> = {
  kind: 'RoleBinding', apiVersion: 'rbac.authorization.k8s.io/v1', plural: 'rolebindings', namespaced: true, labelSelector: rbacOwned,
};

/** ConfigMaps, for single-object reads and writes (the CoreDNS Corefile); informers use a narrowed copy. */
export const CONFIG_MAPS: ResourceType<V1ConfigMap> = { kind: 'ConfigMap', apiVersion: 'v1', plural: 'configmaps', namespaced: true };

/** Name of the trust bundle ConfigMap the agent publishes into opted-in namespaces (agent/controllers/trust-bundle/). */
export const TRUST_BUNDLE_CONFIG_MAP = 'plexus-trust-bundle';
/** ConfigMaps of that name only, in every namespace: RBAC can then grant list/watch by resourceNames. */
export const TRUST_BUNDLE_CONFIG_MAPS: ResourceType<V1ConfigMap> = { ...CONFIG_MAPS, fieldSelector: `metadata.name=${TRUST_BUNDLE_CONFIG_MAP}` };
/** Core Events (raw JSON: timestamps stay strings). */
export const EVENTS: ResourceType<KubeObject> = { kind: 'Event', apiVersion: 'v1', plural: 'events', namespaced: true };
