// Demo step for the fleet views: `plexus status` and `plexus services` as an operator
// sees them, and where the dashboard is (the same admin certificate opens it).
import path from 'node:path';
import type { FleetCluster, FleetStatus } from '../../broker/api/fleet.ts';
import { fleetPaths } from '../../broker/api/fleet.ts';
import { until } from '../../test/e2e/support/objects.ts';
import { plexus, plexusJson } from '../../test/support/plexus-process.ts';
import { detail, step } from './ui.ts';

/**
 * `stopped`: clusters whose agent the demo stopped. They are not waited for as reporters:
 * they are shown as what they are, Unreachable once their lease ran out, with what they
 * last reported (their imports were reported as soon as their agent's caches synced).
 */
export async function fleetStep(brokerDir: string, brokerUrl: string, stopped: readonly string[], leaseSeconds: number): Promise<void> {
  await step('The fleet at a glance: plexus status, plexus services, the dashboard', async () => {
    const admin = ['--data-dir', brokerDir];
    await until(`running clusters reported, stopped ones (${stopped.join(', ')}) Unreachable with what they last reported`, async () => {
      const s = await plexusJson<FleetStatus>(['status', ...admin]);
      const reported = (c: FleetCluster) => c.agentVersion !== null && c.imports !== null;
      return s.clusters.every((c) => reported(c) && (!stopped.includes(c.cluster) || c.health === 'Unreachable')) ? s : undefined;
    }, (leaseSeconds + 30) * 1000);
    detail(`$ plexus status --data-dir ${brokerDir}`);
    detail((await plexus(['status', ...admin])).trimEnd());
    if (stopped.length) detail(`(${stopped.join(', ')}: agent stopped in the failover step, so its ${leaseSeconds} s lease ran out; the row keeps what it last reported)`);
    detail(`\n$ plexus services --data-dir ${brokerDir}`);
    detail((await plexus(['services', ...admin])).trimEnd());
    const cert = path.join(brokerDir, 'admin');
    detail(`\ndashboard: ${brokerUrl}${fleetPaths.dashboard} (read-only; present the admin certificate ${cert}/admin.crt + admin.key`);
    detail(`as a browser client certificate, e.g. openssl pkcs12 -export -in admin.crt -inkey admin.key -out admin.p12)`);
  });
}
