// Level-based reconcile of one namespace's trust bundle ConfigMap. The key is a namespace
// name. A namespace labelled plexus.io/trust-bundle=enabled gets the ConfigMap
// `plexus-trust-bundle` with the clusterset roots under `ca.crt`, applied (SSA, field
// manager `plexus`) when missing, stale after a CA rollover, or edited by someone else.
// When the label goes, our ConfigMap goes. A ConfigMap of that name without our ownership
// label belongs to someone else: it is never written or deleted, only reported (a
// Warning Event and a log line with PLX_AGENT_TRUST_BUNDLE_CLASH).
import {
  EVENTS, TRUST_BUNDLE_CONFIG_MAP, eventObject, TRUST_BUNDLE_CONFIG_MAPS, NAMESPACES, TerminalError,
  type ComponentInformers, type KubeApi, type KubeObject, type ReconcileContext, type Reconciler, type Result,
} from '../../kube/index.ts';
import type { Clock } from '../../timing/clock.ts';
import { TRUST_BUNDLE_CLASH, clashEvent } from './clash-event.ts';
import { BUNDLE_KEY, desiredConfigMap, drifted, isOwned, wantsBundle } from './trust-bundle-config-map.ts';

export interface TrustBundleReconcilerDeps {
  api: KubeApi;
  /** Declared with NAMESPACES and TRUST_BUNDLE_CONFIG_MAPS. */
  informers: ComponentInformers;
  /** The PEM roots to publish, read at every reconcile (LiveIdentity's current trustBundle). */
  bundle: () => string;
  clock: Clock;
  clusterId: string;
}

export class TrustBundleReconciler implements Reconciler {
  readonly #d: TrustBundleReconcilerDeps;
  /** Clashing ConfigMaps already reported, by uid: one Event each, not one per reconcile. */
  readonly #reported = new Set<string>();
  /** What this process last applied per namespace, to tell a rollover from someone's edit in the log. */
  readonly #published = new Map<string, string>();

  constructor(deps: TrustBundleReconcilerDeps) {
    this.#d = deps;
  }

  async reconcile(namespace: string, ctx: ReconcileContext): Promise<Result> {
    if (!namespace || namespace.includes('/')) throw new TerminalError(`"${namespace}" is not a namespace name`);
    const ns = this.#d.informers.get(NAMESPACES).get(undefined, namespace);
    // A terminating namespace takes its ConfigMaps with it; writing there would be refused.
    if (ns?.metadata?.deletionTimestamp) return undefined;
    const live = this.#d.informers.get(TRUST_BUNDLE_CONFIG_MAPS).get(namespace, TRUST_BUNDLE_CONFIG_MAP);
    if (!wantsBundle(ns)) {
      if (live && isOwned(live)) {
        await this.#d.api.delete(TRUST_BUNDLE_CONFIG_MAPS as never, { namespace, name: TRUST_BUNDLE_CONFIG_MAP });
        ctx.log.info('trust bundle removed: the namespace no longer asks for it');
      }
      this.#published.delete(namespace);
      return undefined;
    }
    if (live && !isOwned(live)) return this.#reportClash(live, ctx);
    const bundle = this.#d.bundle();
    if (!bundle.includes('-----BEGIN CERTIFICATE-----')) throw new TerminalError('the agent has no trust bundle to publish');
    const desired = desiredConfigMap(namespace, bundle);
    if (live && !drifted(live, desired)) return undefined;
    await this.#d.api.apply(TRUST_BUNDLE_CONFIG_MAPS, desired);
    const reason = !live ? 'created' : live.data?.[BUNDLE_KEY] === this.#published.get(namespace) ? 'bundle-changed' : 'drift-corrected';
    this.#published.set(namespace, bundle);
    ctx.log.info({ reason }, 'trust bundle published');
    return undefined;
  }

  async #reportClash(cm: KubeObject, ctx: ReconcileContext): Promise<Result> {
    const uid = cm.metadata?.uid ?? `${cm.metadata?.namespace}/${cm.metadata?.resourceVersion}`;
    if (this.#reported.has(uid)) return undefined;
    ctx.log.warn({ code: TRUST_BUNDLE_CLASH }, 'a ConfigMap without the Plexus ownership label holds the trust bundle name; left alone');
    await this.#d.api.apply(EVENTS, eventObject(clashEvent(cm), this.#d.clock.now(), this.#d.clusterId));
    this.#reported.add(uid);
    return undefined;
  }
}
