// What the trust-bundle controller writes and how it recognises its own: the opt-in label
// on Namespaces, the ownership label on the ConfigMap, and the ConfigMap it wants.
import type { V1ConfigMap, V1Namespace } from '@kubernetes/client-node';
import { TRUST_BUNDLE_CONFIG_MAP, type KubeObject } from '../../kube/index.ts';

/** On a Namespace: `plexus.io/trust-bundle=enabled` asks for the ConfigMap there. */
export const LABEL_TRUST_BUNDLE = 'plexus.io/trust-bundle';
export const TRUST_BUNDLE_ENABLED = 'enabled';
/** On the ConfigMap: only objects carrying `trust.plexus.io/owned=true` are ever rewritten or deleted. */
export const LABEL_TRUST_BUNDLE_OWNED = 'trust.plexus.io/owned';
/** The data key, as trust-manager and cert-manager name a CA bundle. */
export const BUNDLE_KEY = 'ca.crt';

export function wantsBundle(ns: V1Namespace | undefined): boolean {
  return ns?.metadata?.labels?.[LABEL_TRUST_BUNDLE] === TRUST_BUNDLE_ENABLED && !ns.metadata.deletionTimestamp;
}

export function isOwned(cm: KubeObject): boolean {
  return cm.metadata?.labels?.[LABEL_TRUST_BUNDLE_OWNED] === 'true';
}

export function desiredConfigMap(namespace: string, bundle: string): V1ConfigMap {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: {
      name: TRUST_BUNDLE_CONFIG_MAP, namespace,
      labels: { [LABEL_TRUST_BUNDLE_OWNED]: 'true', 'app.kubernetes.io/managed-by': 'plexus', 'app.kubernetes.io/component': 'trust-bundle' },
    },
    data: { [BUNDLE_KEY]: bundle },
  };
}

/**
 * True when `live` no longer says what we applied: the bundle or our labels differ. Keys
 * other people add beside ca.crt are theirs (server-side apply keeps them) and not drift.
 */
export function drifted(live: V1ConfigMap, desired: V1ConfigMap): boolean {
  if (live.data?.[BUNDLE_KEY] !== desired.data?.[BUNDLE_KEY]) return true;
  const labels = live.metadata?.labels ?? {};
  return Object.entries(desired.metadata?.labels ?? {}).some(([k, v]) => labels[k] !== v);
}
