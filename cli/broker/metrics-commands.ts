// `plexus broker metrics identity`: makes a key here, sends only a CSR over the admin API,
// and writes the read-only scrape identity for Prometheus (tls.key 0600, tls.crt, ca.crt).
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { printData } from '../output.ts';
import { createCsr } from '../../certs/csr.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { metricsIdentityResponseSchema, metricsPaths } from '../../broker/api/metrics.ts';
import { METRICS_READER_NAME } from '../../broker/admin-identity.ts';
import { adminCommand, withAdmin, type AdminFlags } from './admin-commands.ts';
import { parseDurationSeconds } from '../../broker/duration.ts';

interface IdentityFlags extends AdminFlags { out: string; lifetime: string }

function identityCommand(metrics: Command): void {
  adminCommand(metrics, 'identity', 'Issue the read-only identity Prometheus presents to scrape GET /metrics (mTLS).\n'
    + 'Writes OUT/tls.key (0600), OUT/tls.crt and OUT/ca.crt; the key never leaves this machine.',
  'plexus broker metrics identity --data-dir ./broker --out ./prometheus-tls --lifetime 90d')
    .requiredOption('--out <dir>', 'directory to write tls.key, tls.crt and ca.crt into')
    .option('--lifetime <duration>', 'certificate lifetime (at most 397d)', '90d')
    .action(async (flags: IdentityFlags) => {
      const lifetimeSeconds = parseDurationSeconds(flags.lifetime, '--lifetime');
      await withAdmin(flags, async (client) => {
        const keys = await generateKeyPair('P-256');
        // The broker names the certificate itself; the CSR only proves the key.
        const csr = await createCsr({ keys, commonName: METRICS_READER_NAME });
        const res = await client.request('POST', metricsPaths.adminIdentity, { csr, lifetimeSeconds }, metricsIdentityResponseSchema);
        mkdirSync(flags.out, { recursive: true, mode: 0o700 });
        const keyPath = join(flags.out, 'tls.key');
        writeFileSync(keyPath, await exportPrivateKeyPem(keys.privateKey), { mode: 0o600 });
        chmodSync(keyPath, 0o600);
        writeFileSync(join(flags.out, 'tls.crt'), res.certificate, { mode: 0o644 });
        writeFileSync(join(flags.out, 'ca.crt'), res.trustBundle, { mode: 0o644 });
        const json = { identity: res.identity, notAfter: res.notAfter, out: flags.out };
        printData(flags.output, json, Object.entries(json), [{ header: 'field', value: (r) => r[0] }, { header: 'value', value: (r) => r[1] }]);
      });
    });
}

export function registerMetricsCommands(broker: Command): void {
  const metrics = broker.command('metrics').description('Prometheus metrics: the read-only scrape identity');
  identityCommand(metrics);
}
