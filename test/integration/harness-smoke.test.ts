// The test harness itself: two real control planes, isolated from each other, read back
// with the real kubectl, CRDs installed with their validation, kube-apiserver restarts.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { ApiException, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, DiscoveryV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { ALL_CRDS, CLUSTER_PROPERTY, SERVICE_EXPORT, SERVICE_IMPORT, crdNameOf } from '../../crds/types.ts';
import type { ServiceImport } from '../../crds/types.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import type { SetResources } from '../harness/cluster-set.ts';
import { isPortFree } from '../harness/free-ports.ts';
import { startClusters } from '../harness/start-clusters.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';

const NS = 'smoke';

/** The HTTP status of a rejected client call (0 when it did not fail with an HTTP status). */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    return err instanceof ApiException ? err.code : 0;
  }
}

describe('harness: two clusters', () => {
  const lab = useClusters(2);

  it('uses the pinned kubectl from the cache, not the one on PATH', async () => {
    const r = await lab.cluster(0).kubectl(['version', '--client', '-o', 'json']);
    expect(r.code).toBe(0);
    const { clientVersion } = JSON.parse(r.stdout) as { clientVersion: { gitVersion: string } };
    expect(clientVersion.gitVersion).toBe(`v${resolveBinaries().k8sVersion}`);
  });

  it('creates a Namespace, Service and EndpointSlice in cluster 1 and reads them back with kubectl', async () => {
    const c1 = lab.cluster(0);
    const core = c1.client(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    const svc = await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    });
    expect(svc.spec?.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    await c1.client(DiscoveryV1Api).createNamespacedEndpointSlice({
      namespace: NS,
      body: {
        metadata: { name: 'web-a', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.1.2.3'], conditions: { ready: true } }],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    });

    const r = await c1.kubectl(['get', '-n', NS, 'namespace/smoke', 'service/web', 'endpointslices.discovery.k8s.io/web-a', '-o', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { items: { kind: string; metadata: { name: string }; spec?: { clusterIP?: string }; endpoints?: { addresses: string[] }[] }[] };
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`)).toEqual(['Namespace/smoke', 'Service/web', 'EndpointSlice/web-a']);
    expect(list.items[1]!.spec?.clusterIP).toBe(svc.spec?.clusterIP);
    expect(list.items[2]!.endpoints?.[0]?.addresses).toEqual(['10.1.2.3']);
  });

  it('keeps cluster 2 separate: it sees none of them', async () => {
    const c2 = lab.cluster(1);
    expect(await statusOf(c2.client(CoreV1Api).readNamespace({ name: NS }))).toBe(404);
    const services = await c2.client(CoreV1Api).listServiceForAllNamespaces();
    expect(services.items.map((s) => s.metadata?.name)).not.toContain('web');
    const slices = await c2.client(DiscoveryV1Api).listEndpointSliceForAllNamespaces();
    expect(slices.items.map((s) => s.metadata?.name)).not.toContain('web-a');
    const r = await c2.kubectl(['get', 'namespace', NS, '-o', 'name']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('NotFound');
  });

  it('has every CRD Established in both clusters', async () => {
    for (const c of lab.clusters) {
      const ext = c.client(ApiextensionsV1Api);
      for (const crd of ALL_CRDS) {
        const got = await ext.readCustomResourceDefinition({ name: crdNameOf(crd) });
        expect(got.status?.conditions?.find((x) => x.type === 'Established')?.status).toBe('True');
      }
    }
  });

  it('accepts a valid ServiceImport and refuses invalid ones', async () => {
    const api = lab.cluster(0).client(CustomObjectsApi);
    const create = (name: string, spec: unknown): Promise<unknown> => api.createNamespacedCustomObject({
      group: SERVICE_IMPORT.group, version: SERVICE_IMPORT.version, namespace: NS, plural: SERVICE_IMPORT.plural,
      body: { apiVersion: `${SERVICE_IMPORT.group}/${SERVICE_IMPORT.version}`, kind: SERVICE_IMPORT.kind, metadata: { name }, spec },
    });
    const good: ServiceImport['spec'] = { type: 'ClusterSetIP', ips: ['10.200.0.1'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] };
    expect(await statusOf(create('web', good))).toBe(200);
    expect(await statusOf(create('three-ips', { ...good, ips: ['10.200.0.1', '10.200.0.2', '10.200.0.3'] }))).toBe(422);
    expect(await statusOf(create('not-an-ip', { ...good, ips: ['banana'] }))).toBe(422);
    expect(await statusOf(create('bad-type', { ...good, type: 'LoadBalancer' }))).toBe(422);
    expect(await statusOf(create('bad-port', { ...good, ports: [{ port: 70000 }] }))).toBe(422);
    expect(await statusOf(create('no-ports', { type: 'Headless' }))).toBe(422);

    const r = await lab.cluster(0).kubectl(['get', 'svcim', '-n', NS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^NAME\s+TYPE\s+IP\s+AGE\n/);
    expect(r.stdout).toContain('ClusterSetIP');
  });

  it('shows ServiceExport conditions in its printer columns', async () => {
    const c1 = lab.cluster(0);
    const api = c1.client(CustomObjectsApi);
    const ref = { group: SERVICE_EXPORT.group, version: SERVICE_EXPORT.version, namespace: NS, plural: SERVICE_EXPORT.plural, name: 'web' };
    const created = await api.createNamespacedCustomObject({
      ...ref, body: { apiVersion: `${SERVICE_EXPORT.group}/${SERVICE_EXPORT.version}`, kind: SERVICE_EXPORT.kind, metadata: { name: 'web' } },
    }) as { metadata: { resourceVersion: string } };
    const at = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const condition = (type: string, status: string, reason: string) => ({ type, status, reason, message: '', lastTransitionTime: at });
    await api.replaceNamespacedCustomObjectStatus({
      ...ref,
      body: {
        apiVersion: `${SERVICE_EXPORT.group}/${SERVICE_EXPORT.version}`, kind: SERVICE_EXPORT.kind,
        metadata: { name: 'web', resourceVersion: created.metadata.resourceVersion },
        status: { conditions: [condition('Valid', 'True', 'Valid'), condition('Ready', 'True', 'Exported'), condition('Conflict', 'False', 'NoConflicts')] },
      },
    });
    const r = await c1.kubectl(['get', 'svcex', 'web', '-n', NS, '--no-headers']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split(/\s+/).slice(0, 4)).toEqual(['web', 'True', 'True', 'False']);
  });

  it('accepts a ClusterProperty and refuses an empty value', async () => {
    const api = lab.cluster(0).client(CustomObjectsApi);
    const create = (name: string, value: string): Promise<unknown> => api.createClusterCustomObject({
      group: CLUSTER_PROPERTY.group, version: CLUSTER_PROPERTY.version, plural: CLUSTER_PROPERTY.plural,
      body: { apiVersion: `${CLUSTER_PROPERTY.group}/${CLUSTER_PROPERTY.version}`, kind: CLUSTER_PROPERTY.kind, metadata: { name }, spec: { value } },
    });
    expect(await statusOf(create('cluster.clusterset.k8s.io', 'cluster-1'))).toBe(200);
    expect(await statusOf(create('empty.example.com', ''))).toBe(422);
    const r = await lab.cluster(0).kubectl(['get', 'clusterproperties', '--no-headers']);
    expect(r.stdout).toMatch(/^cluster\.clusterset\.k8s\.io\s+cluster-1\s/);
  });

  it('restarts a kube-apiserver on the same address and keeps its objects', async () => {
    const c1 = lab.cluster(0);
    const server = c1.server;
    await c1.stopApiServer();
    expect(c1.apiServerRunning).toBe(false);
    expect(await statusOf(c1.client(CoreV1Api).readNamespace({ name: NS }))).toBe(0);
    await c1.startApiServer();
    expect(c1.server).toBe(server);
    const ns = await c1.client(CoreV1Api).readNamespace({ name: NS });
    expect(ns.metadata?.name).toBe(NS);
    await c1.restartApiServer();
    const svc = await c1.client(CoreV1Api).readNamespacedService({ namespace: NS, name: 'web' });
    expect(svc.metadata?.name).toBe('web');
  });
});

// --- teardown ---------------------------------------------------------------------------

const harnessDir = path.resolve(import.meta.dirname, '..', 'harness');

/** A zombie (exited, not yet reaped by whoever inherited it) holds nothing and counts as gone. */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function leftovers(r: SetResources): Promise<string[]> {
  const out = r.pids.filter(processAlive).map((pid) => `process ${pid}`);
  for (const port of r.ports) if (!(await isPortFree(port))) out.push(`port ${port}`);
  if (existsSync(r.dir)) out.push(`dir ${r.dir}`);
  return out;
}

function expectFullSet(r: SetResources, clusters: number): void {
  expect(r.pids).toHaveLength(2 * (1 + clusters) + 1);      // watchdog + component each, reaper
  expect(r.ports).toHaveLength(2 + clusters);
  expect(existsSync(r.dir)).toBe(true);
}

/** Runs a harness process that prints one JSON line with `resources` once its set is up. */
async function launch(script: string, args: string[], children: ChildProcess[]): Promise<{ child: ChildProcess; resources: SetResources }> {
  const child = spawn(process.execPath, [path.join(harnessDir, script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was up: ${stderr}`)));
  });
  return { child, resources: (JSON.parse(first) as { resources: SetResources }).resources };
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('harness teardown leaves no process, port or temp dir behind', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('after ClusterSet.stop()', async () => {
    const set = await startClusters(1);
    const r = set.resources();
    expectFullSet(r, 1);
    await set.stop();
    expect(await leftovers(r)).toEqual([]);
  });

  it('after cluster-up receives SIGTERM (orderly stop)', async () => {
    const { child, resources } = await launch('cluster-up.ts', ['--clusters', '1', '--json', '--no-crds'], children);
    expectFullSet(resources, 1);
    child.kill('SIGTERM');
    expect(await exitOf(child)).toEqual({ code: 0, signal: null });
    expect(await leftovers(resources)).toEqual([]);
  });

  it('after the harness process dies of an uncaught error (exit hook)', async () => {
    const { child, resources } = await launch(path.join('fixtures', 'crash-after-start.ts'), [], children);
    expect((await exitOf(child)).code).toBe(1);
    await waitFor(async () => ((await leftovers(resources)).length === 0 ? true : undefined), { what: 'cleanup after crash', timeoutMs: 30_000 });
  });

  it('after the harness process is SIGKILLed (watchdogs and reaper)', async () => {
    const { child, resources } = await launch('cluster-up.ts', ['--clusters', '1', '--json', '--no-crds'], children);
    child.kill('SIGKILL');
    await exitOf(child);
    await waitFor(async () => ((await leftovers(resources)).length === 0 ? true : undefined), { what: 'cleanup after SIGKILL', timeoutMs: 30_000 });
  });
});
