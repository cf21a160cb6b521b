// RBAC baseline helpers for e2e suites and bench/rbac-drift.ts: the `plexus broker rbac|
// status` CLI against a mesh's broker, baseline manifests, and kubectl probes run with
// each cluster's admin kubeconfig.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rbacComplianceResponseSchema, type RbacComplianceResponse } from '../../../broker/api/rbac.ts';
import type { Cluster } from '../../harness/cluster.ts';
import type { Mesh } from './mesh.ts';
import { runPlexus, type PlexusRun } from '../../support/plexus-process.ts';

const V = 'rbac.authorization.k8s.io/v1';

export function brokerCli(mesh: Mesh, args: string[]): Promise<PlexusRun> {
  return runPlexus(['broker', ...args, '--data-dir', mesh.brokerDir]);
}

/** Applies `objects` as the baseline through the real CLI (a temp YAML/JSON file). */
export async function applyBaseline(mesh: Mesh, objects: unknown[], extra: string[] = []): Promise<number> {
  const dir = mkdtempSync(path.join(mesh.dir, 'rbac-'));
  try {
    const file = path.join(dir, 'baseline.json');
    writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
    const r = await brokerCli(mesh, ['rbac', 'apply', '-f', file, '-o', 'json', ...extra]);
    if (r.code !== 0) throw new Error(`rbac apply failed: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { revision: number }).revision;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function compliance(mesh: Mesh): Promise<RbacComplianceResponse> {
  const r = await brokerCli(mesh, ['status', '-o', 'json']);
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  return rbacComplianceResponseSchema.parse(JSON.parse(r.stdout));
}

/** `kubectl auth can-i` as an impersonated user (and groups), with the cluster's admin kubeconfig. */
export async function canI(c: Cluster, verb: string, resource: string, namespace: string, user: string, groups: string[] = []): Promise<string> {
  const r = await c.kubectl(['auth', 'can-i', verb, resource, '-n', namespace, '--as', user, ...groups.flatMap((g) => ['--as-group', g])]);
  // "yes", or "no" possibly followed by the authorizer's reason ("no - RBAC: role … not found").
  return r.stdout.trim().split(/\s/)[0] ?? '';
}

export const namespace = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
export const podReaderRole = (ns: string, verbs = ['get', 'list', 'watch']) => ({
  apiVersion: V, kind: 'Role', metadata: { name: 'pod-reader', namespace: ns }, rules: [{ apiGroups: [''], resources: ['pods'], verbs }],
});
export const groupRoleBinding = (ns: string, name: string, role: string, group: string) => ({
  apiVersion: V, kind: 'RoleBinding', metadata: { name, namespace: ns },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role }, subjects: [{ kind: 'Group', name: group }],
});
export const clusterRole = (name: string, resources: string[]) => ({
  apiVersion: V, kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: [''], resources, verbs: ['get', 'list'] }],
});
