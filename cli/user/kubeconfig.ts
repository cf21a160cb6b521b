// `plexus kubeconfig`: one context per member cluster that advertises an access proxy.
// Each context points at that proxy, trusts the clusterset bundle, verifies the proxy as
// clusterServerName() (tls-server-name) and presents the person's certificate by file
// path, so `plexus login --renew` applies without regenerating. Re-running refreshes:
// Plexus entries of this clusterset are replaced (clusters that left disappear), every
// other entry of an existing file is kept, and the file is replaced atomically.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { clusterServerName, type ClusterAdvertisement } from '../../broker/api/advertisement.ts';
import { writeFileAtomic, type ConfigDirLayout } from './config-dir.ts';
import { UserCliError } from './user-error.ts';

interface Named { name: string; [k: string]: unknown }
interface KubeconfigDoc {
  apiVersion?: string; kind?: string; preferences?: unknown; 'current-context'?: string;
  clusters?: Named[]; users?: Named[]; contexts?: Named[]; [k: string]: unknown;
}

const CONTEXT_PREFIX = 'plexus-';

function contextName(clusterId: string): string {
  return `${CONTEXT_PREFIX}${clusterId}`;
}

function userEntryName(name: string, clusterset: string): string {
  return `${CONTEXT_PREFIX}${name}@${clusterset}`;
}

/** Entries this clusterset's earlier runs wrote: prefixed, and verifying a name under `.cluster.<clusterset>`. */
function ownedClusterNames(doc: KubeconfigDoc, clusterset: string): Set<string> {
  const suffix = `.cluster.${clusterset}`;
  return new Set((doc.clusters ?? []).filter((c) => {
    const tsn = (c.cluster as { 'tls-server-name'?: string } | undefined)?.['tls-server-name'];
    return c.name.startsWith(CONTEXT_PREFIX) && typeof tsn === 'string' && tsn.endsWith(suffix);
  }).map((c) => c.name));
}

export interface KubeconfigInput {
  readonly existing: KubeconfigDoc | undefined;
  readonly advertisements: readonly ClusterAdvertisement[];
  readonly clusterset: string;
  readonly userName: string;
  readonly layout: ConfigDirLayout;
}

/** Pure: the refreshed document and the contexts it holds for this clusterset. */
export function buildKubeconfig(i: KubeconfigInput): { doc: KubeconfigDoc; contexts: string[] } {
  const doc: KubeconfigDoc = { apiVersion: 'v1', kind: 'Config', preferences: {}, ...(i.existing ?? {}) };
  const owned = ownedClusterNames(doc, i.clusterset);
  const user = userEntryName(i.userName, i.clusterset);
  const members = i.advertisements.filter((a) => a.proxyUrl).sort((a, b) => (a.cluster < b.cluster ? -1 : 1));
  const names = new Set(members.map((a) => contextName(a.cluster)));
  const stale = (n: string) => owned.has(n) || names.has(n);
  doc.clusters = [...(doc.clusters ?? []).filter((c) => !stale(c.name)), ...members.map((a) => ({
    name: contextName(a.cluster),
    cluster: { server: a.proxyUrl, 'certificate-authority': i.layout.ca, 'tls-server-name': clusterServerName(a.cluster, i.clusterset) },
  }))];
  doc.users = [...(doc.users ?? []).filter((u) => u.name !== user), {
    name: user, user: { 'client-certificate': i.layout.cert, 'client-key': i.layout.key },
  }];
  doc.contexts = [...(doc.contexts ?? []).filter((c) => !stale(c.name)), ...members.map((a) => ({
    name: contextName(a.cluster), context: { cluster: contextName(a.cluster), user },
  }))];
  const current = doc['current-context'];
  if ((!current || (stale(current) && !names.has(current))) && members[0]) doc['current-context'] = contextName(members[0].cluster);
  return { doc, contexts: [...names] };
}

export function defaultKubeconfigPath(): string {
  const env = process.env.KUBECONFIG?.split(path.delimiter).find(Boolean);
  return env ?? path.join(process.env.HOME ?? '.', '.kube', 'config');
}

export function readKubeconfig(file: string): KubeconfigDoc | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const doc = loadYaml<KubeconfigDoc | null>(readFileSync(file, 'utf8'));
    return doc ?? undefined;
  } catch (e) {
    throw new UserCliError('PLX_USER_KUBECONFIG', `cannot parse ${file}: ${(e as Error).message}`, { cause: e });
  }
}

export function writeKubeconfig(file: string, doc: KubeconfigDoc): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  writeFileAtomic(path.resolve(file), dumpYaml(doc), 0o600);
}
