// A Kubernetes Event telling a namespace's owners that their own ConfigMap already holds
// the trust bundle's name, so Plexus left it alone and publishes nothing there. One Event
// per clashing object (named after its uid), written with server-side apply, so repeating
// the report updates the same Event instead of adding new ones.
import type { AgentErrorCode } from '../../errors.ts';
import { TRUST_BUNDLE_CONFIG_MAP, type EventNote, type KubeObject } from '../../kube/index.ts';

/** Stable code in the Event's reason and the log line. */
export const TRUST_BUNDLE_CLASH = 'PLX_AGENT_TRUST_BUNDLE_CLASH' satisfies AgentErrorCode;

export function clashEvent(cm: KubeObject): EventNote {
  const namespace = cm.metadata?.namespace ?? '';
  const uid = cm.metadata?.uid ?? '';
  return {
    name: `${TRUST_BUNDLE_CONFIG_MAP}.clash-${uid.slice(0, 8) || 'unknown'}`, namespace,
    regarding: { apiVersion: 'v1', kind: 'ConfigMap', namespace, name: TRUST_BUNDLE_CONFIG_MAP, uid },
    type: 'Warning',
    reason: TRUST_BUNDLE_CLASH,
    message: `ConfigMap ${namespace}/${TRUST_BUNDLE_CONFIG_MAP} exists without the label trust.plexus.io/owned=true; Plexus leaves it alone and does not publish the clusterset trust bundle here. Delete or rename it to receive the bundle.`,
  };
}
