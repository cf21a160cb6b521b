// `plexus broker rbac apply|diff`, `plexus broker cluster label` and `plexus broker status`:
// parsing and presentation only. Files are read here (YAML or JSON, one file or every
// *.yaml|*.yml|*.json in a directory); the broker validates and stores.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { printData } from '../output.ts';
import {
  rbacApplyResponseSchema, rbacComplianceResponseSchema, rbacDiffResponseSchema, rbacPaths,
  type RbacApplyRequest, type RbacCompliance, type RbacTarget,
} from '../../broker/api/rbac.ts';
import { clusterInfoSchema } from '../../broker/api/types.ts';
import { adminCommand, withAdmin, type AdminFlags } from './admin-commands.ts';
import { BrokerError } from '../../broker/errors.ts';
import { parseTarget } from '../../broker/rbac/baseline.ts';

const MANIFEST = /\.(ya?ml|json)$/;

function manifestFiles(p: string): string[] {
  let st;
  try {
    st = statSync(p);
  } catch (e) {
    throw new BrokerError('PLX_BROKER_VALIDATION', `cannot read ${p}: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) return [p];
  return readdirSync(p).filter((f) => MANIFEST.test(f)).sort().map((f) => path.join(p, f));
}

/**
 * Every object in the files; `List` documents are flattened, empty documents skipped. The
 * Kubernetes client (its YAML loader) is imported here, not at module load: it costs the
 * broker process about 50 MiB resident, and only these commands need it (bench:footprint).
 */
export async function loadManifests(p: string): Promise<unknown[]> {
  const { loadAllYaml } = await import('@kubernetes/client-node');
  const out: unknown[] = [];
  for (const file of manifestFiles(p)) {
    let docs: unknown[];
    try {
      docs = loadAllYaml(readFileSync(file, 'utf8')) as unknown[];
    } catch (e) {
      throw new BrokerError('PLX_BROKER_VALIDATION', `${file} is not valid YAML or JSON: ${(e as Error).message}`, { cause: e });
    }
    for (const d of docs) {
      if (d === null || d === undefined) continue;
      const list = d as { kind?: unknown; items?: unknown };
      if (typeof list.kind === 'string' && list.kind.endsWith('List') && Array.isArray(list.items)) out.push(...(list.items as unknown[]));
      else out.push(d);
    }
  }
  return out;
}

interface ApplyFlags extends AdminFlags { file?: string; target: string; allowKubeSystem?: boolean }

async function requestOf(flags: ApplyFlags, file: string): Promise<RbacApplyRequest> {
  const target: RbacTarget | undefined = parseTarget(flags.target);
  if (!target) throw new BrokerError('PLX_BROKER_VALIDATION', `--target must be "all" or key=value[,key=value…], not "${flags.target}"`);
  return { objects: await loadManifests(file), target, allowKubeSystem: flags.allowKubeSystem === true };
}

function withApplyOptions(c: Command, fileRequired: boolean): Command {
  const desc = 'a manifest file or a directory of *.yaml|*.yml|*.json';
  const withFile = fileRequired ? c.requiredOption('-f, --file <path>', desc) : c.option('-f, --file <path>', `${desc} (default: the current baseline)`);
  return withFile.option('--target <all|selector>', 'clusters to apply to: "all" or labels, e.g. env=prod,tier=web', 'all')
    .option('--allow-kube-system', 'permit objects in kube-system', false);
}

function rbacCommands(broker: Command): void {
  const rbac = broker.command('rbac').description('The central RBAC baseline applied in every targeted cluster');
  withApplyOptions(adminCommand(rbac, 'apply', 'Validate and store a new baseline revision (identical content makes none).\n'
    + 'Rejected content (wildcards, escalate/bind/impersonate, cluster-admin to broad groups, kube-system) stores nothing.',
  'plexus broker rbac apply -f rbac/ --target env=prod --data-dir ./broker'), true)
    .action(async (flags: ApplyFlags) => withAdmin(flags, async (client) => {
      const res = await client.request('PUT', rbacPaths.admin, await requestOf(flags, flags.file!), rbacApplyResponseSchema);
      printData(flags.output, res, [res], [
        { header: 'revision', value: (r) => r.revision }, { header: 'created', value: (r) => String(r.created) },
        { header: 'objects', value: (r) => r.objects }, { header: 'hash', value: (r) => r.hash.slice(0, 12) },
      ]);
    }));
  withApplyOptions(adminCommand(rbac, 'diff', 'Dry run: what a baseline would change in each cluster (create, update, delete, clash).\n'
    + 'Computed from what each agent last reported it applied; stores nothing.',
  'plexus broker rbac diff -f rbac/ --data-dir ./broker'), false)
    .action(async (flags: ApplyFlags) => withAdmin(flags, async (client) => {
      const body = flags.file ? await requestOf(flags, flags.file) : undefined;
      const res = await client.request('POST', rbacPaths.adminDiff, body ?? null, rbacDiffResponseSchema);
      const rows = res.clusters.flatMap((c) => c.changes.map((ch) => ({ cluster: c.cluster, known: c.known, ...ch })));
      printData(flags.output, res, rows, [
        { header: 'cluster', value: (r) => r.cluster }, { header: 'action', value: (r) => r.action }, { header: 'kind', value: (r) => r.kind },
        { header: 'namespace', value: (r) => r.namespace }, { header: 'name', value: (r) => r.name },
        { header: 'agent reported', value: (r) => (r.known ? 'yes' : 'never') },
      ]);
    }));
}

function parseLabelArgs(args: readonly string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    const i = a.indexOf('=');
    if (i > 0) set[a.slice(0, i)] = a.slice(i + 1);
    else if (a.endsWith('-') && a.length > 1) remove.push(a.slice(0, -1));
    else throw new BrokerError('PLX_BROKER_VALIDATION', `label "${a}" must be key=value (set) or key- (remove)`);
  }
  return { set, remove };
}

function labelCommand(broker: Command): void {
  const clusters = broker.commands.find((c) => c.name() === 'cluster') ?? broker.command('cluster').description('Clusterset membership');
  adminCommand(clusters, 'label', 'Set (key=value) or remove (key-) labels of a cluster; the RBAC baseline targets clusters by label.',
    'plexus broker cluster label east-1 env=prod tier- --data-dir ./broker')
    .argument('<id>', 'cluster ID')
    .argument('<labels...>', 'key=value to set, key- to remove')
    .action(async (id: string, labels: string[], flags: AdminFlags) => withAdmin(flags, async (client) => {
      const info = await client.request('PUT', rbacPaths.clusterLabels(id), parseLabelArgs(labels), clusterInfoSchema);
      printData(flags.output, info, [info], [
        { header: 'id', value: (c) => c.id }, { header: 'labels', value: (c) => Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(',') },
      ]);
    }));
}

const complianceColumns = [
  { header: 'cluster', value: (c: RbacCompliance) => c.cluster },
  { header: 'targeted', value: (c: RbacCompliance) => (c.targeted ? 'yes' : 'no') },
  { header: 'rbac revision', value: (c: RbacCompliance) => `${c.appliedRevision ?? '-'}/${c.currentRevision}` },
  { header: 'compliant', value: (c: RbacCompliance) => (c.compliant ? 'yes' : 'no') },
  { header: 'drift', value: (c: RbacCompliance) => c.driftCount },
  { header: 'clashes', value: (c: RbacCompliance) => c.clashes },
  { header: 'errors', value: (c: RbacCompliance) => c.errors },
  { header: 'reported', value: (c: RbacCompliance) => c.reportedAt },
];

function statusCommand(broker: Command): void {
  adminCommand(broker, 'status', 'Compliance of every active cluster with the RBAC baseline:\n'
    + 'revision applied vs. current, drift corrected so far, name clashes and errors.',
  'plexus broker status --data-dir ./broker --output json')
    .action(async (flags: AdminFlags) => withAdmin(flags, async (client) => {
      const res = await client.request('GET', rbacPaths.adminStatus, undefined, rbacComplianceResponseSchema);
      printData(flags.output, res, res.clusters, complianceColumns);
    }));
}

export function registerRbacCommands(broker: Command): void {
  rbacCommands(broker);
  labelCommand(broker);
  statusCommand(broker);
}
