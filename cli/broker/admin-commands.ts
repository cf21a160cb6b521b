// `plexus broker token …` and `plexus broker cluster …`: admin commands that call the
// running broker's admin API with the admin identity, from a .p12 anywhere or from the
// data directory on the broker's disk (admin-credentials.ts).
import type { Command } from 'commander';
import { printData, type Column, type OutputFormat } from '../output.ts';
import type { ClusterInfo, TokenInfo } from '../../broker/api/types.ts';
import { AdminClient } from '../../broker/admin-client.ts';
import { outputOption } from '../options.ts';
import { ADMIN_ACCESS_HELP, addAdminAccessOptions, resolveAdminCredentials, type AdminAccessFlags, type AdminCredentials } from './admin-credentials.ts';
import { parseDurationSeconds } from '../../broker/duration.ts';

export interface AdminFlags extends AdminAccessFlags { output: OutputFormat }

export async function withAdmin<T>(flags: AdminAccessFlags, fn: (client: AdminClient, creds: AdminCredentials) => Promise<T>): Promise<T> {
  const creds = await resolveAdminCredentials(flags);
  const client = new AdminClient(creds);
  try {
    return await fn(client, creds);
  } finally {
    await client.close();
  }
}

export function adminCommand(parent: Command, name: string, description: string, example: string): Command {
  const cmd = parent.command(name)
    .summary(description.split('\n')[0]!.replace(/\.$/, ''))
    .description(description);
  return addAdminAccessOptions(cmd)
    .addOption(outputOption())
    .addHelpText('after', `\nExample:\n  ${example}\n\n${ADMIN_ACCESS_HELP}`);
}

const tokenColumns: Column<TokenInfo>[] = [
  { header: 'id', value: (t) => t.id },
  { header: 'cluster', value: (t) => t.subject },
  { header: 'state', value: (t) => t.state },
  { header: 'created', value: (t) => t.createdAt },
  { header: 'expires', value: (t) => t.expiresAt },
  { header: 'used', value: (t) => t.usedAt },
];

const clusterColumns: Column<ClusterInfo>[] = [
  { header: 'id', value: (c) => c.id },
  { header: 'state', value: (c) => c.state },
  { header: 'joined', value: (c) => c.joinedAt },
  { header: 'removed', value: (c) => c.removedAt },
  { header: 'cert expires', value: (c) => c.certificateNotAfter },
  { header: 'cert serial', value: (c) => c.certificateSerial },
];

interface CreateFlags extends AdminFlags { cluster: string; ttl: string }

function tokenCreate(tokens: Command): void {
  adminCommand(tokens, 'create', 'Mint a one-time join token bound to one cluster ID (default TTL 1h, at most 7d).\n'
    + 'Prints the token (shown only this once), the CA fingerprint to pin, and the join command.',
  'plexus broker token create --data-dir ./broker --cluster east-1 --ttl 1h')
    .requiredOption('--cluster <id>', 'cluster ID the token may enroll (RFC-1123 label)')
    .option('--ttl <duration>', 'how long the token stays valid, e.g. 30m, 1h, 2d', '1h')
    .action(async (flags: CreateFlags) => {
      const ttlSeconds = parseDurationSeconds(flags.ttl, '--ttl');
      await withAdmin(flags, async (client) => {
        const res = await client.createToken({ cluster: flags.cluster, ttlSeconds });
        const broker = client.baseUrl.origin;
        const joinCommand = `plexus agent join --broker ${broker} --token ${res.token} --cluster-id ${res.info.subject} --ca-fingerprint ${res.caFingerprint}`;
        const json = { token: res.token, id: res.info.id, cluster: res.info.subject, expiresAt: res.info.expiresAt, caFingerprint: res.caFingerprint, broker, joinCommand };
        const rows = [['token', res.token], ['cluster', res.info.subject], ['expires', res.info.expiresAt], ['ca fingerprint', res.caFingerprint]];
        printData(flags.output, json, rows, [{ header: 'field', value: (r) => r[0] }, { header: 'value', value: (r) => r[1] }]);
        if (flags.output === 'table') process.stdout.write(`\nOn the cluster, run (the token works once):\n  ${joinCommand}\n`);
      });
    });
}

function tokenCommands(broker: Command): void {
  const tokens = broker.command('token').description('Join tokens: one-time credentials that let a cluster enroll');
  tokenCreate(tokens);
  adminCommand(tokens, 'list', 'List join tokens and their state (pending, used, expired, revoked). Secrets are never shown.',
    'plexus broker token list --data-dir ./broker --output json')
    .action(async (flags: AdminFlags) => withAdmin(flags, async (client) => {
      const list = await client.listTokens();
      printData(flags.output, { tokens: list }, list, tokenColumns);
    }));
  adminCommand(tokens, 'revoke', 'Revoke a pending join token by its ID (idempotent).', 'plexus broker token revoke k3x9a2bq --data-dir ./broker')
    .argument('<id>', 'token ID (the 8 characters after "plx1.")')
    .action(async (id: string, flags: AdminFlags) => withAdmin(flags, async (client) => {
      const info = await client.revokeToken(id);
      printData(flags.output, info, [info], tokenColumns);
    }));
}

function clusterCommands(broker: Command): void {
  const clusters = broker.command('cluster').description('Clusterset membership');
  adminCommand(clusters, 'list', 'List member clusters, active and removed.', 'plexus broker cluster list --data-dir ./broker')
    .action(async (flags: AdminFlags) => withAdmin(flags, async (client) => {
      const list = await client.listClusters();
      printData(flags.output, { clusters: list }, list, clusterColumns);
    }));
  adminCommand(clusters, 'remove', 'Remove a cluster: its certificates are rejected from now on; it can rejoin only with a new token.',
    'plexus broker cluster remove east-1 --data-dir ./broker')
    .argument('<id>', 'cluster ID')
    .action(async (id: string, flags: AdminFlags) => withAdmin(flags, async (client) => {
      const info = await client.removeCluster(id);
      printData(flags.output, info, [info], clusterColumns);
    }));
}

export function registerAdminCommands(broker: Command): void {
  tokenCommands(broker);
  clusterCommands(broker);
}
