// Per-service answer policy, from ServiceExport annotations (they travel to every cluster
// in ExportSpec.annotations). Pure: the export controller validates with it (an invalid
// value makes the ServiceExport Valid=False), the importing side parses with it and falls
// back to the default for anything it cannot read.
//
//   plexus.io/dns-policy: nearest | round-robin | local-only      (default nearest)
//   plexus.io/weights:    cluster-1=3,cluster-2=1                 (integers 0..1000, default 1)

import { isClusterId } from '../../broker/api/names.ts';

export const ANNOTATION_DNS_POLICY = 'plexus.io/dns-policy';
export const ANNOTATION_WEIGHTS = 'plexus.io/weights';

export const DNS_POLICIES = ['nearest', 'round-robin', 'local-only'] as const;
export type DnsPolicy = (typeof DNS_POLICIES)[number];

export interface ServicePolicy {
  readonly policy: DnsPolicy;
  /** Relative weight per cluster; clusters not named weigh DEFAULT_WEIGHT. */
  readonly weights: ReadonlyMap<string, number>;
}

export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 1000;
export const DEFAULT_POLICY: ServicePolicy = Object.freeze({ policy: 'nearest', weights: new Map<string, number>() });

export type PolicyResult = { ok: true; policy: ServicePolicy } | { ok: false; problem: string };

function parseWeights(raw: string): { ok: true; weights: Map<string, number> } | { ok: false; problem: string } {
  const weights = new Map<string, number>();
  for (const part of raw.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    const cluster = eq < 0 ? item : item.slice(0, eq).trim();
    const value = eq < 0 ? '' : item.slice(eq + 1).trim();
    if (!isClusterId(cluster)) return { ok: false, problem: `${ANNOTATION_WEIGHTS}: "${cluster}" is not a cluster ID` };
    if (!/^\d{1,4}$/.test(value) || Number(value) > MAX_WEIGHT) {
      return { ok: false, problem: `${ANNOTATION_WEIGHTS}: the weight of ${cluster} must be an integer from 0 to ${MAX_WEIGHT}, not "${value}"` };
    }
    if (weights.has(cluster)) return { ok: false, problem: `${ANNOTATION_WEIGHTS}: ${cluster} is listed twice` };
    weights.set(cluster, Number(value));
  }
  return { ok: true, weights };
}

/** Reads the policy annotations; any other annotation is ignored. */
export function parseServicePolicy(annotations: Readonly<Record<string, string>> | undefined): PolicyResult {
  const rawPolicy = annotations?.[ANNOTATION_DNS_POLICY]?.trim();
  if (rawPolicy !== undefined && !(DNS_POLICIES as readonly string[]).includes(rawPolicy)) {
    return { ok: false, problem: `${ANNOTATION_DNS_POLICY} must be one of ${DNS_POLICIES.join(', ')}, not "${rawPolicy}"` };
  }
  const rawWeights = annotations?.[ANNOTATION_WEIGHTS];
  const weights = rawWeights === undefined ? { ok: true as const, weights: new Map<string, number>() } : parseWeights(rawWeights);
  if (!weights.ok) return weights;
  return { ok: true, policy: { policy: (rawPolicy ?? 'nearest') as DnsPolicy, weights: weights.weights } };
}

/** The policy to apply on the importing side: an unreadable one falls back to the default. */
export function servicePolicyOf(annotations: Readonly<Record<string, string>> | undefined): ServicePolicy {
  const r = parseServicePolicy(annotations);
  return r.ok ? r.policy : DEFAULT_POLICY;
}

export function weightOf(policy: ServicePolicy, cluster: string): number {
  return policy.weights.get(cluster) ?? DEFAULT_WEIGHT;
}
