// Helpers for the fault-survival e2e suites (broker crash and outage, cut-off cluster,
// API-server restart, agent restarts under churn): a seeded PRNG so random schedules
// replay, log cursors to observe what a process did after a point in time, an extra
// cluster identity that writes to the broker directly, and the exact-state check every
// suite ends with (ServiceImport, derived Service, EndpointSlices and DNS, nothing more).
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import { expect } from 'vitest';
import { BrokerClient } from '../../../agent/broker-client/broker-client.ts';
import type { StoredIdentity } from '../../../agent/identity/identity-store.ts';
import { LABEL_SERVICE_NAME, LABEL_SOURCE_CLUSTER } from '../../../crds/types.ts';
import type { Cluster } from '../../harness/cluster.ts';
import { plexus } from '../../support/plexus-process.ts';
import { type DigResult, dig, rdata } from './dig.ts';
import type { Mesh } from './mesh.ts';
import { serviceImports } from './objects.ts';
import { waitFor } from '../../harness/wait-for.ts';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** PLEXUS_E2E_SEED replays a failed run; otherwise a fresh seed each run. */
export function seedFromEnv(): number {
  const fromEnv = process.env.PLEXUS_E2E_SEED;
  return fromEnv ? Number.parseInt(fromEnv, 10) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

/** Reads what a process appended to its log file after mark(). */
export class LogCursor {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  /** The current end of the file. */
  mark(): number {
    try {
      return statSync(this.file).size;
    } catch {
      return 0;
    }
  }

  /** JSON log lines (pino) written after `offset`; other lines are skipped. */
  since(offset: number): Record<string, unknown>[] {
    let text = '';
    try {
      const size = statSync(this.file).size;
      const fd = openSync(this.file, 'r');
      try {
        const buf = Buffer.alloc(Math.max(0, size - offset));
        readSync(fd, buf, 0, buf.length, offset);
        text = buf.toString('utf8');
      } finally {
        closeSync(fd);
      }
    } catch {
      return [];
    }
    return text.split('\n').flatMap((l) => {
      try {
        return l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }
}

export const brokerLog = (mesh: Mesh) => new LogCursor(path.join(mesh.dir, 'broker.log'));
export const agentLog = (mesh: Mesh, cluster: string) => new LogCursor(path.join(mesh.dir, `agent-${cluster}.log`));

/** The pid of a cluster's kube-apiserver binary (not its watchdog), found by its port. */
export function apiServerPid(c: Cluster): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (path.basename(argv[0] ?? '') === 'kube-apiserver' && argv.includes(`--secure-port=${c.port}`)) return Number(entry);
  }
  throw new Error(`no kube-apiserver process listens on port ${c.port}`);
}

/**
 * A cluster identity with no API server behind it: enrolled with a real join token and
 * `plexus agent join --data-dir`, then used to write exports straight to the broker.
 */
export async function extraClusterIdentity(mesh: Mesh, id: string): Promise<{ identity: StoredIdentity; client: BrokerClient }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `plexus-e2e-${id}-`));
  const t = JSON.parse(await plexus(['broker', 'token', 'create', '--data-dir', mesh.brokerDir, '--cluster', id, '--output', 'json'])) as { token: string; caFingerprint: string };
  await plexus(['agent', 'join', '--broker', mesh.brokerUrl, '--token', t.token, '--cluster-id', id, '--ca-fingerprint', t.caFingerprint, '--data-dir', dir]);
  const identity = JSON.parse(readFileSync(path.join(dir, 'identity.json'), 'utf8')) as StoredIdentity;
  const client = new BrokerClient({ baseUrl: mesh.brokerUrl, trustBundle: identity.trustBundle, clientCert: { certPem: identity.certPem, keyPem: identity.keyPem }, timeoutMs: 5000 });
  return { identity, client };
}

/** What one cluster should hold for ns/svc: addresses per exporting cluster (none = no import at all). */
export type ExpectedImport = Record<string, string[]>;

export interface ImportState {
  imports: number;
  derived: number;
  /** source cluster → sorted ready addresses, from the imported EndpointSlices. */
  sources: Record<string, string[]>;
  slices: number;
  /** Headless: the sorted A answers; ClusterSetIP: the clusterset IPs. NXDOMAIN gives []. */
  dns: string[];
  dnsStatus: string;
  ips: string[];
  clusterIPs: string[];
}

/** The A answer for a name, from wherever a suite asks (the agent's DNS server, or a pod through CoreDNS). */
export type LookupA = (name: string) => Promise<DigResult>;

/** Reads everything an agent maintains for ns/svc in one cluster, and its DNS answer. */
export async function importState(mesh: Mesh, c: Cluster, ns: string, svc: string): Promise<ImportState> {
  const { host, port } = mesh.dnsAddress(c.name);
  return importStateVia((name) => dig(host, port, [name, 'A']), c, ns, svc);
}

/** importState with the DNS answer from `lookup`. */
export async function importStateVia(lookup: LookupA, c: Cluster, ns: string, svc: string): Promise<ImportState> {
  const si = (await serviceImports(c, ns)).filter((s) => s.metadata.name === svc);
  const derived = (await c.client(CoreV1Api).listNamespacedService({ namespace: ns, labelSelector: `${LABEL_SERVICE_NAME}=${svc}` })).items;
  const slices = (await c.client(DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: LABEL_SERVICE_NAME })).items
    .filter((s) => s.metadata?.labels?.[LABEL_SERVICE_NAME] === svc && s.metadata.labels[LABEL_SOURCE_CLUSTER] !== undefined);
  const sources: Record<string, string[]> = {};
  for (const s of slices) {
    const src = s.metadata!.labels![LABEL_SOURCE_CLUSTER]!;
    const ready = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses);
    sources[src] = [...(sources[src] ?? []), ...ready].sort();
  }
  const answer = await lookup(`${svc}.${ns}.svc.clusterset.local`);
  return {
    imports: si.length, derived: derived.length, sources, slices: slices.length,
    dns: rdata(answer), dnsStatus: answer.status,
    ips: [...(si[0]?.spec.ips ?? [])].sort(), clusterIPs: [...(derived[0]?.spec?.clusterIPs ?? [])].sort(),
  };
}

const nonEmpty = (e: ExpectedImport) => Object.fromEntries(Object.entries(e).filter(([, a]) => a.length > 0).map(([k, a]) => [k, [...a].sort()]));

/** True when `s` is exactly what `expected` describes (for polling before the strict check). */
export function matches(s: ImportState, expected: ExpectedImport, type: 'Headless' | 'ClusterSetIP'): boolean {
  const want = nonEmpty(expected);
  const exported = Object.keys(expected).length > 0;
  const sameSources = JSON.stringify(Object.fromEntries(Object.entries(s.sources).sort())) === JSON.stringify(Object.fromEntries(Object.entries(want).sort()));
  if (!exported) return s.imports === 0 && s.derived === 0 && s.slices === 0 && s.dnsStatus === 'NXDOMAIN';
  const all = Object.values(want).flat().sort();
  const dnsOk = type === 'Headless'
    ? (all.length === 0 ? s.dnsStatus === 'NXDOMAIN' : JSON.stringify(s.dns) === JSON.stringify(all))
    : s.ips.length > 0 && JSON.stringify(s.dns) === JSON.stringify(s.ips);
  return s.imports === 1 && s.derived === (type === 'Headless' ? 0 : 1) && s.slices === Object.keys(want).length && sameSources && dnsOk;
}

/** Strict assertions with readable diffs, after matches() held. */
function expectExact(s: ImportState, expected: ExpectedImport, type: 'Headless' | 'ClusterSetIP'): void {
  const want = nonEmpty(expected);
  if (Object.keys(expected).length === 0) {
    expect({ imports: s.imports, derived: s.derived, slices: s.slices, dnsStatus: s.dnsStatus }).toEqual({ imports: 0, derived: 0, slices: 0, dnsStatus: 'NXDOMAIN' });
    return;
  }
  expect(s.imports).toBe(1);
  // Only a ClusterSetIP import has a derived Service (it holds the clusterset IP).
  expect(s.derived).toBe(type === 'Headless' ? 0 : 1);
  expect(s.sources).toEqual(want);
  expect(s.slices).toBe(Object.keys(want).length);
  if (type === 'ClusterSetIP') {
    expect(s.ips.length).toBeGreaterThan(0);
    expect(s.clusterIPs).toEqual(s.ips);
    expect(s.dns).toEqual(s.ips);
  } else {
    expect(s.dns).toEqual(Object.values(want).flat().sort());
  }
}

/** Polls until cluster `c` holds exactly `expected` for ns/svc, then asserts it strictly; a timeout shows the last state. */
export async function untilExact(mesh: Mesh, c: Cluster, ns: string, svc: string, expected: ExpectedImport, type: 'Headless' | 'ClusterSetIP', timeoutMs = 60_000): Promise<void> {
  const { host, port } = mesh.dnsAddress(c.name);
  await untilExactVia((name) => dig(host, port, [name, 'A']), c, ns, svc, expected, type, timeoutMs);
}

/** untilExact with the DNS answer from `lookup`. */
export async function untilExactVia(lookup: LookupA, c: Cluster, ns: string, svc: string, expected: ExpectedImport, type: 'Headless' | 'ClusterSetIP', timeoutMs = 60_000, intervalMs?: number): Promise<void> {
  let last: ImportState | undefined;
  try {
    await waitFor(async () => {
      last = await importStateVia(lookup, c, ns, svc);
      return matches(last, expected, type) ? true : undefined;
    }, { what: `${c.name} holds exactly ${JSON.stringify(expected)} for ${ns}/${svc}`, timeoutMs, intervalMs: intervalMs ?? 50 });
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen ${JSON.stringify(last)}`, { cause: err });
  }
  expectExact(await importStateVia(lookup, c, ns, svc), expected, type);
}
