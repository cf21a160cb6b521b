// Demo step for the fleet views: `plexus status` and `plexus services` as an operator
// sees them, and where the dashboard is (the same admin certificate opens it).
import path from 'node:path';
import type { FleetCluster, FleetStatus } from '../../broker/api/fleet.ts';
import { fleetPaths } from '../../broker/api/fleet.ts';
import type { DemoMesh } from './deploy-steps.ts';
import { detail, step } from './ui.ts';
import { waitFor } from '../../test/harness/wait-for.ts';

/**
 * `stopped`: clusters whose agent the demo stopped (the failover step). They are not waited for as reporters:
 * they are shown as what they are, Unreachable once their lease ran out, with what they
 * last reported (their imports were reported as soon as their agent's caches synced).
 */
export async function fleetStep(mesh: DemoMesh, stopped: readonly string[], leaseSeconds: number): Promise<void> {
  await step('The fleet at a glance: plexus status, plexus services, the dashboard', async () => {
    await waitFor(async () => {
      const s = JSON.parse(await mesh.admin(['status', '--output', 'json'])) as FleetStatus;
      const reported = (c: FleetCluster) => c.agentVersion !== null && c.imports !== null;
      return s.clusters.every((c) => reported(c) && (!stopped.includes(c.cluster) || c.health === 'Unreachable')) ? s : undefined;
    }, { what: `running clusters reported, stopped ones (${stopped.join(', ')}) Unreachable with what they last reported`, timeoutMs: (leaseSeconds + 120) * 1000 });
    detail(`$ ${mesh.adminCommand(['status'])}`);
    detail((await mesh.admin(['status'])).trimEnd());
    if (stopped.length) detail(`(${stopped.join(', ')}: agent stopped in the failover step, so its ${leaseSeconds} s lease ran out; the row keeps what it last reported)`);
    detail(`\n$ ${mesh.adminCommand(['services'])}`);
    detail((await mesh.admin(['services'])).trimEnd());
    detail(`\ndashboard: ${mesh.brokerUrl}${fleetPaths.dashboard} (read-only; import the admin identity into the browser as its client certificate:`);
    detail(`  plexus broker admin-p12 --data-dir ${path.dirname(mesh.adminDir)} --out admin.p12   (asks for its password)`);
    detail(`and trust the clusterset root ${mesh.adminDir}/ca.crt there for websites)`);
  });
}
