// `plexus status` and `plexus services`: the fleet at a glance, read from the broker's
// admin API (broker/api/fleet.ts) with the admin identity, like `plexus broker cluster
// list`. Both print a table, or `--output json`; `--watch` re-prints on every change
// (with JSON, one document per line).
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import { fleetPaths, fleetServicesSchema, fleetStatusSchema, type FleetServices, type FleetStatus } from '../../broker/api/fleet.ts';
import { withAdmin } from '../broker/admin-commands.ts';
import { ADMIN_ACCESS_HELP, addAdminAccessOptions, type AdminAccessFlags } from '../broker/admin-credentials.ts';
import { outputOption } from '../options.ts';
import { parseDurationSeconds } from '../../broker/duration.ts';
import { renderTable, type Column, type OutputFormat } from '../output.ts';
import { clusterColumns, serviceColumns } from './fleet-columns.ts';
import { watchLoop } from './watch-loop.ts';

interface FleetFlags extends AdminAccessFlags { output: OutputFormat; watch?: boolean; interval: string }

interface View<T> {
  readonly path: string;
  readonly schema: z.ZodType<T>;
  readonly table: (data: T) => string;
  /** The JSON document without fields that change on every read. */
  readonly stable: (data: T) => unknown;
}

const statusView: View<FleetStatus> = {
  path: fleetPaths.fleet,
  schema: fleetStatusSchema,
  table: (d) => renderTable(d.clusters, clusterColumns(new Date(d.generatedAt))),
  stable: (d) => ({ ...d, generatedAt: undefined }),
};

const servicesView: View<FleetServices> = {
  path: fleetPaths.services,
  schema: fleetServicesSchema,
  table: (d) => renderTable(d.services, serviceColumns as Column<FleetServices['services'][number]>[]),
  stable: (d) => d,
};

async function show<T>(view: View<T>, flags: FleetFlags): Promise<void> {
  const intervalMs = parseDurationSeconds(flags.interval, '--interval') * 1000;
  await withAdmin(flags, async (client) => {
    const fetch = () => client.request('GET', view.path, undefined, view.schema) as Promise<T>;
    const json = flags.output === 'json';
    if (!flags.watch) {
      const data = await fetch();
      process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : view.table(data));
      return;
    }
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      await watchLoop({
        fetch, intervalMs, signal: stop.signal, out: process.stdout, err: process.stderr,
        render: (d) => (json ? JSON.stringify(d) + '\n' : view.table(d) + '\n'),
        changeKey: (d) => JSON.stringify(view.stable(d)),
        clear: !json && process.stdout.isTTY === true,
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

function fleetCommand(program: Command, name: string, summary: string, description: string, examples: string[]): Command {
  return addAdminAccessOptions(program.command(name)
    .summary(summary)
    .description(description))
    .addOption(outputOption())
    .option('-w, --watch', 'keep running and print again whenever something changes (JSON: one document per line)')
    .addOption(new Option('--interval <duration>', 'how often --watch asks the broker').default('2s'))
    .addHelpText('after', `\nExamples:\n${examples.map((e) => `  ${e}`).join('\n')}\n\n`
      + 'Talks to the running broker with the admin identity. Errors carry a stable code, e.g.\n'
      + `error [PLX_BROKER_UNREACHABLE] when no broker answers.\n\n${ADMIN_ACCESS_HELP}`);
}

export function registerFleetCommands(program: Command): void {
  fleetCommand(program, 'status', 'Show every member cluster: health, latency, version, certificate expiry, RBAC, imports',
    'Show one row per member cluster: lease health (Healthy, Unreachable, Unknown), the RTTs it measured to its peers, its agent version, when its certificate expires, the RBAC baseline revision it applied out of the current one and its drift corrections, and how many services it exports and imports.',
  ['plexus status --data-dir ./broker', 'plexus status --data-dir ./broker --watch', 'plexus status --data-dir ./broker -o json --watch | jq .clusters'])
    .action((flags: FleetFlags) => show(statusView, flags));
  fleetCommand(program, 'services', 'Show every shared service: where it is exported, imported, and its conflicts',
    'Show one row per service in the clusterset catalog: its type and merged ports, the clusters that export it (oldest first: the first decides type), the clusters that hold its ServiceImport, and the KEP-1645 conflicts of each exporter (excluded: its endpoints are kept out).',
  ['plexus services --data-dir ./broker', 'plexus services --data-dir ./broker -o json'])
    .action((flags: FleetFlags) => show(servicesView, flags));
}
