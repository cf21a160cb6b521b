// Demo step for the fleet views: `plexus status` and `plexus services` as an operator
// sees them, and where the dashboard is (the same admin certificate opens it).
import path from 'node:path';
import type { FleetStatus } from '../../broker/api/fleet.ts';
import { fleetPaths } from '../../broker/api/fleet.ts';
import { until } from '../../test/e2e/support/objects.ts';
import { plexus, plexusJson } from '../../test/support/plexus-process.ts';
import { detail, step } from './ui.ts';

export async function fleetStep(brokerDir: string, brokerUrl: string): Promise<void> {
  await step('The fleet at a glance: plexus status, plexus services, the dashboard', async () => {
    const admin = ['--data-dir', brokerDir];
    // Agents report their version and imports with the next heartbeat after they start.
    await until('every active cluster reported', async () => {
      const s = await plexusJson<FleetStatus>(['status', ...admin]);
      return s.clusters.every((c) => c.agentVersion !== null && c.imports !== null) ? s : undefined;
    }, 60_000);
    detail(`$ plexus status --data-dir ${brokerDir}`);
    detail((await plexus(['status', ...admin])).trimEnd());
    detail(`\n$ plexus services --data-dir ${brokerDir}`);
    detail((await plexus(['services', ...admin])).trimEnd());
    const cert = path.join(brokerDir, 'admin');
    detail(`\ndashboard: ${brokerUrl}${fleetPaths.dashboard} (read-only; present the admin certificate ${cert}/admin.crt + admin.key`);
    detail(`as a browser client certificate, e.g. openssl pkcs12 -export -in admin.crt -inkey admin.key -out admin.p12)`);
  });
}
