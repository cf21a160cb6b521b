// What the agent tells the broker with every lease heartbeat (broker/api/fleet.ts): its
// version and the ServiceImports Plexus owns in this cluster, read from the informer
// cache (no API call per beat). Wraps the lease client, so the heartbeat itself stays
// unaware of what a report holds. A report that changed (the cache synced, an import came
// or went) asks the heartbeat for an early beat instead of waiting up to a third of the lease.
import type { LeaseReport } from '../../../broker/api/fleet.ts';
import { SERVICE_IMPORTS, type ComponentInformers, type InformerRegistry } from '../../kube/index.ts';
import type { TimerHandle, Timers } from '../../timing/clock.ts';
import { isPlexusOwned } from '../service-import/owned-objects.ts';
import type { LeaseClient } from './lease-heartbeat.ts';

export const LEASE_REPORT_COMPONENT = 'lease-report';

/** How long a burst of ServiceImport changes is gathered into one early report. */
export const REPORT_DEBOUNCE_MS = 1000;

export class LeaseReporter {
  readonly #informers: ComponentInformers;
  readonly #version: string;
  /** The last report handed to the lease client, as JSON: a change is only sent once. */
  #lastSent: string | undefined;
  #debounce: TimerHandle | undefined;
  #timers: Timers | undefined;
  #stopped = false;

  constructor(d: { informers: InformerRegistry; agentVersion: string }) {
    this.#informers = d.informers.declare(LEASE_REPORT_COMPONENT, [SERVICE_IMPORTS]);
    this.#version = d.agentVersion;
  }

  /** Imports are left out until the cache has synced, so the broker never sees a false zero. */
  report(): LeaseReport {
    const report = this.#current();
    this.#lastSent = JSON.stringify(report);
    return report;
  }

  /**
   * Calls `send` (the heartbeat's beatNow) as soon as the cache has synced and, debounced,
   * whenever the report would change: the beat is a third of the lease, and an agent that
   * stops before its second beat never told the broker its imports (the first beat goes
   * out before the informers synced).
   */
  watch(send: () => void, o: { timers: Timers; debounceMs?: number }): void {
    this.#timers = o.timers;
    const debounceMs = o.debounceMs ?? REPORT_DEBOUNCE_MS;
    const sendIfChanged = () => {
      if (!this.#stopped && JSON.stringify(this.#current()) !== this.#lastSent) send();
    };
    void this.#informers.waitForSync().then(sendIfChanged);
    this.#informers.get(SERVICE_IMPORTS).onChange(() => {
      if (this.#stopped || this.#debounce !== undefined || !this.#informers.hasSynced()) return;
      this.#debounce = o.timers.setTimeout(() => {
        this.#debounce = undefined;
        sendIfChanged();
      }, debounceMs);
    });
  }

  stop(): void {
    this.#stopped = true;
    if (this.#debounce !== undefined) this.#timers?.clearTimeout(this.#debounce);
    this.#debounce = undefined;
  }

  #current(): LeaseReport {
    if (!this.#informers.hasSynced()) return { agentVersion: this.#version };
    const imports = this.#informers.get(SERVICE_IMPORTS).list()
      .filter((si) => isPlexusOwned(si) && si.metadata?.namespace && si.metadata.name)
      .map((si) => ({ namespace: si.metadata!.namespace!, name: si.metadata!.name! }))
      .sort((a, b) => (a.namespace === b.namespace ? a.name.localeCompare(b.name) : a.namespace.localeCompare(b.namespace)))
      .slice(0, 5_000);
    return { agentVersion: this.#version, imports };
  }
}

/** A lease client that sends `reporter`'s report with every renewal. */
export function reportingLeaseClient(
  client: { renewLease(o: { report?: LeaseReport; signal?: AbortSignal }): ReturnType<LeaseClient['renewLease']> }, reporter: Pick<LeaseReporter, 'report'>,
): LeaseClient {
  return { renewLease: (o) => client.renewLease({ ...o, report: reporter.report() }) };
}
