// What the RBAC controller knows between reconciles: the baseline it was last given, the
// outcome of every object (applied with which hash, clash, error), and the drift it has
// corrected. It renders the status report the broker stores; it never talks to anyone.
import type { DriftEvent, RbacClusterBaseline, RbacEntry, RbacStatusReport } from '../../broker/api/rbac.ts';
import { entryKey, parseRbacKey, type RbacRef } from './desired-state.ts';

type Outcome =
  | { readonly state: 'applied'; readonly revision: number; readonly hash: string }
  | { readonly state: 'clash'; readonly revision: number }
  | { readonly state: 'error'; readonly revision: number; readonly message: string };

const RECENT_DRIFT = 20;

export class RbacState {
  #baseline: { revision: number; entries: Map<string, RbacEntry> } | undefined;
  readonly #outcomes = new Map<string, Outcome>();
  #appliedRevision: number | null = null;
  #driftCount = 0;
  readonly #recentDrift: DriftEvent[] = [];
  #onChange: () => void = () => undefined;

  /** Called after every change that alters the report. */
  onChange(cb: () => void): void {
    this.#onChange = cb;
  }

  get loaded(): boolean {
    return this.#baseline !== undefined;
  }

  get revision(): number | undefined {
    return this.#baseline?.revision;
  }

  get driftCount(): number {
    return this.#driftCount;
  }

  /** Replaces the baseline; returns the keys that may need work (new, kept and dropped). */
  setBaseline(b: RbacClusterBaseline): string[] {
    const entries = new Map(b.entries.map((e) => [entryKey(e), e]));
    const touched = new Set([...entries.keys(), ...this.#outcomes.keys(), ...(this.#baseline?.entries.keys() ?? [])]);
    this.#baseline = { revision: b.revision, entries };
    this.#settle();
    return [...touched].sort();
  }

  desired(key: string): RbacEntry | undefined {
    return this.#baseline?.entries.get(key);
  }

  /** True when the object was last applied by us with exactly this hash (so a difference now is drift). */
  appliedWith(key: string, hash: string): boolean {
    const o = this.#outcomes.get(key);
    return o?.state === 'applied' && o.hash === hash;
  }

  applied(key: string, hash: string): void {
    this.#set(key, { state: 'applied', revision: this.#baseline?.revision ?? 0, hash });
  }

  clash(key: string): void {
    this.#set(key, { state: 'clash', revision: this.#baseline?.revision ?? 0 });
  }

  error(key: string, message: string): void {
    this.#set(key, { state: 'error', revision: this.#baseline?.revision ?? 0, message: message.slice(0, 1024) });
  }

  /** The object is gone and not wanted (pruned, or a clash that no longer matters). */
  forget(key: string): void {
    if (this.#outcomes.delete(key)) this.#settle();
  }

  drift(ref: RbacRef, action: DriftEvent['action'], at: Date): void {
    this.#driftCount++;
    this.#recentDrift.push({ ...ref, action, at: at.toISOString() });
    if (this.#recentDrift.length > RECENT_DRIFT) this.#recentDrift.shift();
    this.#onChange();
  }

  #set(key: string, o: Outcome): void {
    this.#outcomes.set(key, o);
    this.#settle();
  }

  /** The revision counts as applied once every wanted object is applied at its hash or clashes. */
  #settle(): void {
    const b = this.#baseline;
    if (b) {
      const done = [...b.entries].every(([key, e]) => {
        const o = this.#outcomes.get(key);
        return (o?.state === 'applied' && o.hash === e.hash) || o?.state === 'clash';
      });
      const stale = [...this.#outcomes.keys()].some((k) => !b.entries.has(k) && this.#outcomes.get(k)?.state === 'applied');
      if (done && !stale) this.#appliedRevision = b.revision;
    }
    this.#onChange();
  }

  report(): RbacStatusReport {
    const applied: RbacStatusReport['applied'] = [];
    const clashes: RbacStatusReport['clashes'] = [];
    const errors: RbacStatusReport['errors'] = [];
    for (const [key, o] of [...this.#outcomes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const ref = parseRbacKey(key);
      if (!ref) continue;
      if (o.state === 'applied') applied.push({ ...ref, hash: o.hash });
      else if (o.state === 'clash') clashes.push(ref);
      else errors.push({ ...ref, message: o.message });
    }
    return {
      appliedRevision: this.#appliedRevision, seenRevision: this.#baseline?.revision ?? null,
      applied, clashes, errors, driftCount: this.#driftCount, recentDrift: [...this.#recentDrift],
    };
  }
}
