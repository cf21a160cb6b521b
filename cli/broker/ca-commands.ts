// `plexus broker ca rotate|status`: CA rollover over the running broker's admin API.
// `rotate` runs one phase per call (see broker/ca/README.md); `status` shows the phase, the
// roots, and per cluster whether it has the bundle, which root issued its identity, and
// whether it lags. Run with a .p12 (--admin-p12), both bring the file in line with the
// bundle and the issuing root (admin-p12-refresh.ts), as the broker does for DATA_DIR/admin/.
import type { Command } from 'commander';
import { printData, type Column } from '../output.ts';
import {
  caPaths, caRotateResponseSchema, caStatusSchema, type CaClusterInfo, type CaRootInfo, type CaStatus,
} from '../../broker/api/ca.ts';
import { adminCommand, withAdmin, type AdminFlags } from './admin-commands.ts';
import { BrokerError } from '../../broker/errors.ts';
import { refreshAdminP12 } from './admin-p12-refresh.ts';

const short = (fp: string | null) => (fp ? `${fp.slice(0, 23)}…` : '-');

const rootColumns: Column<CaRootInfo>[] = [
  { header: 'root', value: (r) => r.generation },
  { header: 'role', value: (r) => r.role },
  { header: 'in bundle', value: (r) => (r.inBundle ? 'yes' : 'no') },
  { header: 'issuing', value: (r) => (r.issuing ? 'yes' : 'no') },
  { header: 'fingerprint', value: (r) => r.fingerprint },
  { header: 'expires', value: (r) => r.notAfter },
];

const clusterColumns: Column<CaClusterInfo>[] = [
  { header: 'cluster', value: (c) => c.id },
  { header: 'has bundle', value: (c) => (c.hasBundle ? 'yes' : 'no') },
  { header: 'acked', value: (c) => c.ackedAt ?? 'never' },
  { header: 'identity from root', value: (c) => (c.issuerGeneration ?? short(c.issuer)) },
  { header: 'lagging', value: (c) => (c.lagging ? 'yes' : 'no') },
];

function printStatus(s: CaStatus): void {
  process.stdout.write(`phase ${s.phase}: ${s.phaseName}\n\n`);
  printData('table', s, s.roots, rootColumns);
  process.stdout.write('\n');
  printData('table', s, s.clusters, clusterColumns);
  if (s.lagging.length > 0) process.stdout.write(`\nthe next phase waits for: ${s.lagging.join(', ')}\n`);
  if (s.oldUserCertsValidUntil) process.stdout.write(`person certificates from the old root may be valid until ${s.oldUserCertsValidUntil}\n`);
}

interface RotateFlags extends AdminFlags { phase?: string; rollback?: boolean; force?: boolean }

function parsePhase(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^[1-5]$/.test(raw)) throw new BrokerError('PLX_BROKER_VALIDATION', `--phase must be 1-5, not "${raw}"`);
  return Number(raw);
}

export function registerCaCommands(broker: Command): void {
  const ca = broker.command('ca').description('Clusterset root CA: rollover without downtime');
  adminCommand(ca, 'rotate', 'Run the next phase of a CA rollover (one phase per call; see `ca status`):\n'
    + '  1 add a new root to the bundle   2 wait until every agent has it   3 issue from the new root\n'
    + '  4 wait until every identity is re-issued   5 remove the old root.\n'
    + 'A wait phase refuses to complete while clusters lag (PLX_BROKER_CA_LAGGING names them) unless --force.\n'
    + 'With --phase N it runs exactly phase N, and is a no-op if N is already done.',
  'plexus broker ca rotate --phase 1 --data-dir ./broker')
    .option('--phase <n>', 'run exactly this phase (1-5); with --rollback, undo exactly this phase')
    .option('--rollback', 'undo the last phase done instead')
    .option('--force', 'complete a wait phase although clusters lag')
    .action(async (flags: RotateFlags) => withAdmin(flags, async (client, creds) => {
      const phase = parsePhase(flags.phase);
      const body = { ...(phase ? { phase } : {}), rollback: Boolean(flags.rollback), force: Boolean(flags.force) };
      const res = await client.request('POST', caPaths.rotate, body, caRotateResponseSchema);
      const adminP12 = await refreshAdminP12(client, creds, res.status);
      if (flags.output === 'json') return printData('json', { ...res, ...(adminP12 ? { adminP12Updated: adminP12 } : {}) }, [], []);
      process.stdout.write(`${res.changed ? '' : 'nothing to do: '}${res.message}\n\n`);
      printStatus(res.status);
      if (adminP12) process.stdout.write(`\nadmin identity and roots updated in ${adminP12}\n`);
    }));
  adminCommand(ca, 'status', 'Show the CA rollover phase, the roots, and per cluster: has the bundle, identity from which root, lagging.',
    'plexus broker ca status --data-dir ./broker --output json')
    .action(async (flags: AdminFlags) => withAdmin(flags, async (client, creds) => {
      const s = await client.request('GET', caPaths.status, undefined, caStatusSchema);
      const adminP12 = await refreshAdminP12(client, creds, s);
      if (flags.output === 'json') return printData('json', { ...s, ...(adminP12 ? { adminP12Updated: adminP12 } : {}) }, [], []);
      printStatus(s);
      if (adminP12) process.stdout.write(`\nadmin identity and roots updated in ${adminP12}\n`);
    }));
}
