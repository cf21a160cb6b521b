// A real broker process on a real 3-member TLS etcd cluster (`plexus broker init/start
// --etcd-endpoints`): joins (a token consumed once, also when joins race), exports through
// the catalog, state kept across a broker restart, an etcd member killed, and etcd cut off
// entirely (through cut-proxies): writes refused with 503 PLX_BROKER_ETCD_UNAVAILABLE and
// /readyz not ready, then ready again when etcd answers.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogPaths } from '../../broker/api/catalog.ts';
import { paths } from '../../broker/api/types.ts';
import { CutProxy } from '../harness/cut-proxy.ts';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.ts';
import { waitFor } from '../harness/wait-for.ts';
import { plexusDaemon, runPlexus } from '../support/plexus-process.ts';
import { callBroker, clusterCsr, clusterKeys, errorCode, type CallOptions, type ClientIdentity } from './support/broker-fixture.ts';

let etcd: EtcdCluster;
let proxies: CutProxy[] = [];
let root: string;
let dataDir: string;
let broker: ChildProcess | undefined;
let logFd: number;
let url: string;
let caPem: string;
let admin: ClientIdentity;
const clusterset = 'acme.example';

const etcdFlags = (endpoints: readonly string[]) => [
  '--etcd-endpoints', endpoints.join(','), '--etcd-ca', etcd.tls.files.ca, '--etcd-cert', etcd.tls.files.cert, '--etcd-key', etcd.tls.files.key,
];
const call = (path: string, o?: CallOptions) => callBroker(url, caPem, path, o);

async function startBroker(): Promise<void> {
  rmSync(join(dataDir, 'broker.json'), { force: true });
  const endpoints = proxies.map((p) => `https://${p.address}`);
  broker = plexusDaemon(['broker', 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'info', ...etcdFlags(endpoints)], logFd);
  await waitFor(() => existsSync(join(dataDir, 'broker.json')), { what: 'broker.json', timeoutMs: 30_000 });
  url = (JSON.parse(readFileSync(join(dataDir, 'broker.json'), 'utf8')) as { url: string }).url;
}

async function stopBroker(): Promise<void> {
  if (broker && broker.exitCode === null) {
    broker.kill('SIGTERM');
    await once(broker, 'exit');
  }
}

async function token(cluster: string): Promise<string> {
  const r = await call(paths.adminTokens, { body: { cluster }, identity: admin });
  expect(r.status).toBe(201);
  return (r.body as { token: string }).token;
}

async function join1(cluster: string, tok: string) {
  const keys = await clusterKeys();
  const r = await call(paths.join, { body: { token: tok, csr: await clusterCsr(keys, clusterset, cluster) } });
  return { r, identity: r.status === 201 ? { certPem: (r.body as { certificate: string }).certificate, keyPem: keys.keyPem } : undefined };
}

const spec = (cluster: string, name: string) => ({
  cluster, namespace: 'shop', name, createdAt: '2030-01-01T00:00:00Z', type: 'ClusterSetIP', ports: [{ protocol: 'TCP', port: 80 }], endpoints: [],
});

beforeAll(async () => {
  etcd = await startEtcdCluster({ members: 3 });
  proxies = await Promise.all(etcd.members.map((m) => CutProxy.start({ host: '127.0.0.1', port: m.clientPort })));
  root = mkdtempSync(join(tmpdir(), 'plexus-broker-etcd-'));
  dataDir = join(root, 'broker');
  logFd = openSync(join(root, 'broker.log'), 'a');
  const init = await runPlexus(['broker', 'init', '--data-dir', dataDir, '--clusterset', clusterset, '--output', 'json', ...etcdFlags(etcd.endpoints)]);
  expect(init.stderr).toBe('');
  expect(init.code).toBe(0);
  caPem = readFileSync(join(dataDir, 'admin/ca.crt'), 'utf8');
  admin = { certPem: readFileSync(join(dataDir, 'admin/admin.crt'), 'utf8'), keyPem: readFileSync(join(dataDir, 'admin/admin.key'), 'utf8') };
  await startBroker();
}, 90_000);

afterAll(async () => {
  await stopBroker();
  await Promise.all(proxies.map((p) => p.close()));
  await etcd?.stop();
  if (logFd !== undefined) closeSync(logFd);
  if (process.env.PLEXUS_TEST_KEEP !== '1') rmSync(root, { recursive: true, force: true });
});

describe('broker on etcd (real process, 3-member TLS etcd)', () => {
  it('init seeds the store in etcd and keeps only the CA, admin identity and the prefix on disk', async () => {
    expect(existsSync(join(dataDir, 'broker.db'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dataDir, 'etcd-store.json'), 'utf8'))).toEqual({ prefix: `/plexus/${clusterset}/` });
    const again = await runPlexus(['broker', 'init', '--data-dir', join(root, 'second'), '--clusterset', clusterset, ...etcdFlags(etcd.endpoints)]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('PLX_BROKER_ALREADY_INITIALIZED');
  });

  it('refuses an etcd client key readable by others, and etcd flags without endpoints', async () => {
    chmodSync(etcd.tls.files.key, 0o644);
    try {
      const r = await runPlexus(['broker', 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', ...etcdFlags(etcd.endpoints)]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining('PLX_BROKER_ETCD_KEY_PERMISSIONS')]);
    } finally {
      chmodSync(etcd.tls.files.key, 0o600);
    }
    const r = await runPlexus(['broker', 'start', '--data-dir', dataDir, '--etcd-ca', etcd.tls.files.ca, '--etcd-endpoints', 'http://x:1']);
    expect(r.stderr).toContain('PLX_BROKER_CONFIG_INVALID');
    expect(r.stderr).toContain('--etcd-cert is required');
    expect(r.stderr).toContain('is not https://host:port');
  });

  let east: ClientIdentity;

  it('joins a cluster: of racing joins with one token exactly one succeeds', async () => {
    const tok = await token('east');
    const results = await Promise.all([1, 2, 3].map(() => join1('east', tok)));
    expect(results.filter((x) => x.r.status === 201)).toHaveLength(1);
    east = results.find((x) => x.identity)!.identity!;
    const again = await join1('east', tok);
    expect(again.r.status).not.toBe(201);
  });

  it('exports through the catalog and keeps it across a broker restart', async () => {
    expect((await call(catalogPaths.export('shop', 'cart'), { method: 'PUT', body: spec('east', 'cart'), identity: east })).status).toBe(200);
    await stopBroker();
    await startBroker();
    const list = await call(catalogPaths.exports, { identity: east });
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).toContain('"cart"');
    const clusters = await call(paths.adminClusters, { identity: admin });
    expect(JSON.stringify(clusters.body)).toContain('"east"');
  });

  it('keeps serving writes with one etcd member killed', async () => {
    await etcd.kill(0);
    try {
      const r = await call(catalogPaths.export('shop', 'pay'), { method: 'PUT', body: spec('east', 'pay'), identity: east });
      expect(r.status).toBe(200);
      expect((await call(paths.readyz)).status).toBe(200);
    } finally {
      await etcd.restart(0);
    }
  });

  it('cut off from etcd: writes 503 PLX_BROKER_ETCD_UNAVAILABLE and /readyz not ready; ready again when etcd answers', async () => {
    for (const p of proxies) p.cut('refuse');
    await waitFor(async () => (await call(paths.readyz)).status === 503, { what: 'readyz 503', timeoutMs: 20_000 });
    const r = await call(catalogPaths.export('shop', 'cut'), { method: 'PUT', body: spec('east', 'cut'), identity: east });
    expect(r.status).toBe(503);
    expect(errorCode(r)).toBe('PLX_BROKER_ETCD_UNAVAILABLE');
    for (const p of proxies) p.heal();
    await waitFor(async () => (await call(paths.readyz)).status === 200, { what: 'readyz 200', timeoutMs: 20_000 });
    expect((await call(catalogPaths.export('shop', 'cut'), { method: 'PUT', body: spec('east', 'cut'), identity: east })).status).toBe(200);
  });
});
