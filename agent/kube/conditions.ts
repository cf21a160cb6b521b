// metav1.Condition bookkeeping: reconcilers say which conditions should hold now; this
// keeps lastTransitionTime from the previous status unless the condition's status
// flipped, so a status rewrite with the same facts is a no-op.

/** metav1.Condition as JSON (lastTransitionTime is an RFC 3339 string). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type DesiredCondition = Omit<Condition, 'lastTransitionTime'>;

/** The API server accepts seconds precision: RFC 3339 without milliseconds. */
export function rfc3339Seconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The full condition list for the new status: `desired` in order, each keeping its old
 * lastTransitionTime when its status is unchanged. Conditions not in `desired` are dropped.
 */
export function mergeConditions(previous: readonly unknown[] | undefined, desired: readonly DesiredCondition[], now: Date): Condition[] {
  const old = new Map<string, { status?: unknown; lastTransitionTime?: unknown }>();
  for (const c of previous ?? []) {
    const t = (c as { type?: unknown } | null)?.type;
    if (typeof t === 'string') old.set(t, c as { status?: unknown; lastTransitionTime?: unknown });
  }
  return desired.map((d) => {
    const prev = old.get(d.type);
    const keep = prev && prev.status === d.status && prev.lastTransitionTime !== undefined;
    const ltt = keep ? timestampText(prev.lastTransitionTime) : rfc3339Seconds(now);
    return { ...d, lastTransitionTime: ltt };
  });
}

/** True when both lists hold the same conditions (order-insensitive, by type). */
export function conditionsEqual(a: readonly unknown[] | undefined, b: readonly unknown[] | undefined): boolean {
  const norm = (l: readonly unknown[] | undefined) =>
    JSON.stringify([...(l ?? [])].map((c) => normalize(c as Partial<Condition>)).sort((x, y) => x.type.localeCompare(y.type)));
  return norm(a) === norm(b);
}

function normalize(c: Partial<Condition>) {
  return {
    type: String(c.type ?? ''),
    status: c.status ?? '',
    reason: c.reason ?? '',
    message: c.message ?? '',
    observedGeneration: c.observedGeneration ?? null,
    lastTransitionTime: c.lastTransitionTime === undefined ? '' : timestampText(c.lastTransitionTime),
  };
}

function timestampText(v: unknown): string {
  if (v instanceof Date) return rfc3339Seconds(v);
  return String(v);
}
