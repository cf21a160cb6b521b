// `plexus broker user invite|list|revoke`: admin commands over the running broker's admin
// API. The invitation token is printed once, with the `plexus login` command to run.
import type { Command } from 'commander';
import { printData, type Column } from '../output.ts';
import type { UserInfo } from '../../broker/api/users.ts';
import { adminCommand, withAdmin, type AdminFlags } from './admin-commands.ts';
import { parseDurationSeconds } from '../../broker/duration.ts';

const userColumns: Column<UserInfo>[] = [
  { header: 'name', value: (u) => u.name },
  { header: 'groups', value: (u) => u.groups.join(',') },
  { header: 'state', value: (u) => u.state },
  { header: 'created', value: (u) => u.createdAt },
  { header: 'revoked', value: (u) => u.revokedAt },
];

interface InviteFlags extends AdminFlags { group: string[]; ttl: string }

function invite(users: Command): void {
  adminCommand(users, 'invite', 'Invite a person: a one-time login token bound to NAME and the given groups (default TTL 8h).\n'
    + 'The person runs the printed `plexus login` command; the key is made on their machine.',
  'plexus broker user invite alice --group dev --group oncall --data-dir ./broker')
    .argument('<name>', 'user name (lowercase letters, digits, "._@-")')
    .option('--group <group>', 'group the person belongs to (repeatable); bound in clusters as plexus:<group>', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--ttl <duration>', 'how long the login token stays valid', '8h')
    .action(async (name: string, flags: InviteFlags) => {
      const ttlSeconds = parseDurationSeconds(flags.ttl, '--ttl');
      await withAdmin(flags, async (client) => {
        const res = await client.inviteUser({ name, groups: flags.group, ttlSeconds });
        const broker = client.baseUrl.origin;
        const loginCommand = `plexus login --broker ${broker} --token ${res.token} --ca-fingerprint ${res.caFingerprint}`;
        const json = { token: res.token, id: res.info.id, name: res.name, groups: res.groups, expiresAt: res.info.expiresAt, caFingerprint: res.caFingerprint, broker, loginCommand };
        const rows = [['token', res.token], ['user', res.name], ['groups', res.groups.join(',')], ['expires', res.info.expiresAt], ['ca fingerprint', res.caFingerprint]];
        printData(flags.output, json, rows, [{ header: 'field', value: (r) => r[0] }, { header: 'value', value: (r) => r[1] }]);
        if (flags.output === 'table') process.stdout.write(`\nThe person runs (the token works once):\n  ${loginCommand}\n`);
      });
    });
}

export function registerUserAdminCommands(broker: Command): void {
  const users = broker.command('user').description('People: invite them to a shared identity, list them, revoke them');
  invite(users);
  adminCommand(users, 'list', 'List people and their state (invited, active, revoked).', 'plexus broker user list --data-dir ./broker')
    .action(async (flags: AdminFlags) => withAdmin(flags, async (client) => {
      const list = await client.listUsers();
      printData(flags.output, { users: list }, list, userColumns);
    }));
  adminCommand(users, 'revoke', 'Revoke a person everywhere: renewals fail and every agent refuses them (idempotent, final).',
    'plexus broker user revoke alice --data-dir ./broker')
    .argument('<name>', 'user name')
    .action(async (name: string, flags: AdminFlags) => withAdmin(flags, async (client) => {
      const info = await client.revokeUser(name);
      printData(flags.output, info, [info], userColumns);
    }));
}
