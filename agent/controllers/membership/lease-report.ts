// What the agent tells the broker with every lease heartbeat (broker/api/fleet.ts): its
// version and the ServiceImports Plexus owns in this cluster, read from the informer
// cache (no API call per beat). Wraps the lease client, so the heartbeat itself stays
// unaware of what a report holds.
import type { LeaseReport } from '../../../broker/api/fleet.ts';
import { SERVICE_IMPORTS, type ComponentInformers, type InformerRegistry } from '../../kube/index.ts';
import { isPlexusOwned } from '../service-import/owned-objects.ts';
import type { LeaseClient } from './lease-heartbeat.ts';

export const LEASE_REPORT_COMPONENT = 'lease-report';

export class LeaseReporter {
  readonly #informers: ComponentInformers;
  readonly #version: string;

  constructor(d: { informers: InformerRegistry; agentVersion: string }) {
    this.#informers = d.informers.declare(LEASE_REPORT_COMPONENT, [SERVICE_IMPORTS]);
    this.#version = d.agentVersion;
  }

  /** Imports are left out until the cache has synced, so the broker never sees a false zero. */
  report(): LeaseReport {
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
