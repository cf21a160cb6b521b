// Which IP families this cluster serves, as its kube-apiserver decides them: the families it
// gives a headless Service *with a selector* and ipFamilyPolicy PreferDualStack, asked with
// a dry-run create (nothing is stored). A selector-less headless Service would not do: the
// API server accepts any family for it (it defaults to RequireDualStack, IPv4 and IPv6, even
// on an IPv4-only cluster), and the `kubernetes` Service shows only the primary family.
// A ClusterSetIP import learns the same from its derived Service's ClusterIPs; a Headless
// import has no derived Service, so it asks here. The answer is cluster-wide and changes
// only when the API server's service ranges are reconfigured: it is kept for `ttlMs`.
import type { V1Service } from '@kubernetes/client-node';
import type { IPFamily } from '../../../broker/api/catalog.ts';
import { SERVICES, type KubeApi } from '../../kube/index.ts';
import { systemClock, type Clock } from '../../timing/clock.ts';

/** What the import reconciler asks; undefined when the API server could not tell. */
export interface ServedFamiliesReader {
  families(namespace: string): Promise<readonly IPFamily[] | undefined>;
}

export const SERVED_FAMILIES_TTL_MS = 5 * 60_000;

export class ServedFamilies implements ServedFamiliesReader {
  readonly #api: KubeApi;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  #known: { families: readonly IPFamily[]; at: number } | undefined;

  constructor(api: KubeApi, o: { clock?: Clock | undefined; ttlMs?: number | undefined } = {}) {
    this.#api = api;
    this.#clock = o.clock ?? systemClock;
    this.#ttlMs = o.ttlMs ?? SERVED_FAMILIES_TTL_MS;
  }

  /** Throws what the dry-run create threw (e.g. an admission webhook that refuses dry runs). */
  async families(namespace: string): Promise<readonly IPFamily[] | undefined> {
    const now = this.#clock.now().getTime();
    if (this.#known && now - this.#known.at < this.#ttlMs) return this.#known.families;
    const probe: V1Service = {
      apiVersion: 'v1', kind: 'Service',
      metadata: { generateName: 'plx-ip-families-', namespace },
      spec: { clusterIP: 'None', ipFamilyPolicy: 'PreferDualStack', selector: { 'plexus.io/ip-family-probe': 'none' } },
    };
    const answer = await this.#api.dryRunCreate(SERVICES, probe);
    const families = (answer.spec?.ipFamilies ?? []).filter((f): f is IPFamily => f === 'IPv4' || f === 'IPv6');
    if (families.length === 0) return undefined;
    this.#known = { families, at: now };
    return families;
  }
}
