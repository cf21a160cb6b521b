// `npm run demo`: the mission so far, end to end on this machine, with real parts:
// three real control planes, a real broker process, and the real `plexus` CLI.
//   1. provision control-plane binaries (built from Go modules on first run)
//   2. start three local clusters
//   3. init and start a broker (clusterset root of trust)
//   4. enroll each cluster: one-time token → `plexus agent join` (key stays in-cluster)
//   5. verify every stored identity against the trust bundle
//   6. run an agent in each cluster; export a Service from cluster-1 and watch it arrive
//      as a ServiceImport (clusterset IP, EndpointSlices) in clusters 2 and 3
//   7. clusterset DNS from cluster-2's agent, nearest-first hints and headless order
//   8. an RBAC baseline, a person invited and logged in, one kubeconfig, the real kubectl
//      through every cluster's access proxy with the same answers everywhere
//   9. cluster-1 fails (agent and API server stopped): DNS fails over within the bound
//  10. revoke one cluster and show the broker refuses it
// Everything is torn down at the end, also on Ctrl-C or failure.
import '../certs/setup.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { verifyLeaf } from '../certs/verify.ts';
import { formatIdentity } from '../certs/identity.ts';
import { createCsr } from '../certs/csr.ts';
import { generateKeyPair } from '../certs/keys.ts';
import { BrokerClient } from '../agent/broker-client/broker-client.ts';
import type { AgentError } from '../agent/errors.ts';
import {
  addressesOf, createService, ensureNamespace, exportConditions, exportService, importedSlices, serviceImport, setEndpoints, until,
} from '../test/e2e/support/objects.ts';
import { freePorts } from '../test/harness/free-ports.ts';
import { accessSteps } from './demo/access-steps.ts';
import { fleetStep } from './demo/fleet-step.ts';
import { dnsSteps, failoverStep, ZONES } from './demo/discovery-steps.ts';
import { startClusters, type ClusterSet } from '../test/harness/index.ts';
import { detail, step, table } from './demo/ui.ts';
import { plexus, plexusDaemon, plexusJson } from '../test/support/plexus-process.ts';

const repo = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'plexus-demo-'));
const brokerDir = path.join(work, 'broker');
let clusters: ClusterSet | undefined;
let broker: ChildProcess | undefined;
const agents = new Map<string, ChildProcess>();
/** The broker's lease: short enough that the fleet step shows the cluster stopped in the failover step as Unreachable within seconds. */
const LEASE_SECONDS = 15;

async function stopAgent(name: string): Promise<void> {
  const a = agents.get(name);
  if (a && a.exitCode === null && a.signalCode === null) {
    a.kill('SIGTERM');
    await once(a, 'exit');
  }
}

async function cleanup(): Promise<void> {
  for (const name of agents.keys()) await stopAgent(name);
  if (broker && broker.exitCode === null) {
    broker.kill('SIGTERM');
    await once(broker, 'exit');
  }
  await clusters?.stop();
  rmSync(work, { recursive: true, force: true });
}

function onSignal(): void {
  process.stdout.write('\ninterrupted; cleaning up…\n');
  void cleanup().finally(() => process.exit(130));
}
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

async function provisionBinaries(): Promise<void> {
  const child = spawn('bash', [path.join(repo, 'scripts/control-plane.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => { for (const l of d.toString().split('\n')) if (/building|built/.test(l)) detail(l.replace('[control-plane] ', '')); });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error('control-plane binaries could not be provisioned; see the messages above');
}

/** dig (bind9-dnsutils) queries the agents' DNS servers; installed once if missing. */
async function installDig(): Promise<void> {
  const child = spawn('bash', ['-c', 'command -v dig >/dev/null || { [ "$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bind9-dnsutils >/dev/null; }'], { stdio: 'inherit' });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error('dig is missing and could not be installed: install bind9-dnsutils (Debian) or dnsutils');
}

async function waitForFile(file: string, proc: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!existsSync(file)) {
    if (proc.exitCode !== null) throw new Error(`broker exited early (code ${proc.exitCode}); log: ${path.join(work, 'broker.log')}`);
    if (performance.now() > deadline) throw new Error(`broker did not start within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<void> {
  process.stdout.write('Plexus demo — one root of trust and one service catalog across three real clusters\n\n');
  await step('Prerequisites: dig for DNS lookups, control-plane binaries (kube-apiserver, etcd, kubectl, coredns)', async () => {
    await installDig();
    await provisionBinaries();
  });

  clusters = await step('Start three local clusters (real kube-apiservers on one etcd)', () => startClusters(3, { names: ['cluster-1', 'cluster-2', 'cluster-3'] }));
  detail(table(['cluster', 'API server', 'kubeconfig'], clusters.clusters.map((c) => [c.name, c.server, c.kubeconfigPath])));

  const init = await step('Create the clusterset root of trust', () =>
    plexusJson<{ clusterset: string; caFingerprint: string }>(['broker', 'init', '--data-dir', brokerDir, '--clusterset', 'demo.plexus.local']));
  detail(`clusterset ${init.clusterset}, root fingerprint ${init.caFingerprint}`);

  const brokerUrl = await step('Start the broker (TLS 1.3, client-certificate authentication)', async () => {
    broker = plexusDaemon(['broker', 'start', '--data-dir', brokerDir, '--listen', '127.0.0.1:0', '--lease-duration', `${LEASE_SECONDS}s`, '--log-level', 'warn'], openSync(path.join(work, 'broker.log'), 'a'));
    await waitForFile(path.join(brokerDir, 'broker.json'), broker, 30_000);
    return (JSON.parse(readFileSync(path.join(brokerDir, 'broker.json'), 'utf8')) as { url: string }).url;
  });
  detail(`listening on ${brokerUrl}`);

  for (const c of clusters.clusters) {
    await step(`Enroll ${c.name}: one-time token, key generated in-cluster, CSR only`, async () => {
      // Fresh clusters, as in the README: join creates plexus-system itself.
      const t = await plexusJson<{ token: string; caFingerprint: string; expiresAt: string }>(['broker', 'token', 'create', '--data-dir', brokerDir, '--cluster', c.name, '--ttl', '15m']);
      detail(`token ${t.token.slice(0, 14)}… (expires ${t.expiresAt}; stored at the broker only as a hash)`);
      const j = await plexusJson<{ status: string; location: string }>(['agent', 'join', '--broker', brokerUrl, '--token', t.token,
        '--cluster-id', c.name, '--ca-fingerprint', t.caFingerprint, '--kubeconfig', c.kubeconfigPath]);
      detail(`${j.status}; identity stored in ${j.location.replace(/ \(.*\)$/, '')}`);
    });
  }

  await step('Verify each cluster\'s identity against the trust bundle', async () => {
    const rows: string[][] = [];
    for (const c of clusters!.clusters) {
      const s = await c.client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
      const pem = (k: string) => Buffer.from(s.data![k]!, 'base64').toString('utf8');
      const leaf = await verifyLeaf({ certPem: pem('tls.crt'), bundle: TrustBundle.fromPem(pem('ca.crt')), now: new Date(), usage: 'clientAuth', trustDomain: init.clusterset });
      const hours = ((leaf.notAfter.getTime() - Date.now()) / 3_600_000).toFixed(1);
      rows.push([c.name, leaf.identity ? formatIdentity(leaf.identity) : '-', `${leaf.notAfter.toISOString()} (${hours} h)`, '✔ chain, expiry, usage, trust domain']);
    }
    detail(table(['cluster', 'identity', 'expires', 'verified'], rows));
  });

  const ports = await freePorts(clusters.clusters.length);
  const dnsPort = (name: string) => ports[clusters!.clusters.findIndex((c) => c.name === name)]!;
  await step('Start an agent in each cluster (plexus agent run, zones a/b/c)', async () => {
    for (const [i, c] of clusters!.clusters.entries()) {
      const [zone, region] = ZONES[c.name]!;
      agents.set(c.name, plexusDaemon(['agent', 'run', '--kubeconfig', c.kubeconfigPath, '--log-level', 'warn', '--zone', zone, '--region', region,
        '--dns-listen', `127.0.0.1:${ports[i]}`], openSync(path.join(work, `agent-${c.name}.log`), 'a')));
    }
    for (const c of clusters!.clusters) {
      await until(`${c.name} membership`, async () => (await c.kubectl(['get', 'clusterproperty', 'clusterset.k8s.io', '-o', 'name'])).code === 0, 60_000);
    }
    detail('each agent wrote its ClusterProperties (cluster.clusterset.k8s.io, clusterset.k8s.io) and holds a lease with the broker');
  });

  await step('Export Service shop/cart from cluster-1 (ServiceExport, 2 ready endpoints)', async () => {
    for (const c of clusters!.clusters) await ensureNamespace(c, 'shop');
    const c1 = clusters!.cluster('cluster-1');
    await createService(c1, 'shop', 'cart');
    await setEndpoints(c1, 'shop', 'cart', ['10.1.0.11', '10.1.0.12'], ['10.1.0.19']);
    await exportService(c1, 'shop', 'cart');
    const conds = await until('ServiceExport Ready', async () => {
      const cs = await exportConditions(c1, 'shop', 'cart');
      return cs.some((x) => x.type === 'Ready' && x.status === 'True') ? cs : undefined;
    });
    detail(conds.map((x) => `${x.type}=${x.status} (${x.reason})`).join(', '));
  });

  await step('See it imported in clusters 2 and 3 (ServiceImport, derived Service, EndpointSlices)', async () => {
    const rows: string[][] = [];
    for (const name of ['cluster-2', 'cluster-3']) {
      const c = clusters!.cluster(name);
      const si = await until(`import in ${name}`, async () => {
        const x = await serviceImport(c, 'shop', 'cart');
        return x?.spec.ips?.length && x.status?.clusters?.length ? x : undefined;
      }, 60_000);
      const addrs = await until(`endpoints in ${name}`, async () => {
        const a = addressesOf(await importedSlices(c, 'shop', 'cart'));
        return a.length === 2 ? a : undefined;
      });
      rows.push([name, `${si.metadata.namespace}/${si.metadata.name}`, si.spec.type, si.spec.ips!.join(','), si.status!.clusters!.map((x) => x.cluster).join(','), addrs.join(', ')]);
    }
    detail(table(['cluster', 'ServiceImport', 'type', 'clusterset IP', 'from', 'ready endpoints'], rows));
    detail('the not-ready endpoint 10.1.0.19 stayed home; kube-proxy would route the clusterset IP to the imported slices');
  });

  await dnsSteps(clusters, dnsPort);
  await accessSteps(work, brokerDir, clusters);
  await failoverStep(clusters, dnsPort, stopAgent);

  await step('Revoke cluster-3 and show the broker refuses its certificate', async () => {
    await plexus(['broker', 'cluster', 'remove', 'cluster-3', '--data-dir', brokerDir]);
    const list = await plexusJson<{ clusters: { id: string; state: string }[] }>(['broker', 'cluster', 'list', '--data-dir', brokerDir]);
    detail(table(['cluster', 'state'], list.clusters.map((c) => [c.id, c.state])));
    const c3 = clusters!.cluster('cluster-3');
    const s = await c3.client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
    const pem = (k: string) => Buffer.from(s.data![k]!, 'base64').toString('utf8');
    const client = new BrokerClient({ baseUrl: brokerUrl, trustBundle: pem('ca.crt'), clientCert: { certPem: pem('tls.crt'), keyPem: pem('tls.key') } });
    const keys = await generateKeyPair();
    const csr = await createCsr({ keys, commonName: 'cluster-3', identity: { trustDomain: init.clusterset, kind: 'cluster', name: 'cluster-3' } });
    const refused = await client.renew({ csr }).then(() => undefined, (e: AgentError) => e);
    await client.close();
    if (!refused || refused.brokerCode !== 'PLX_BROKER_CLUSTER_REVOKED') throw new Error(`expected the revoked certificate to be refused, got ${refused?.message ?? 'a new certificate'}`);
    detail(`cluster-3 renewal with its still-unexpired certificate → refused: ${refused.brokerCode}`);
  });

  await fleetStep(brokerDir, brokerUrl, [...agents].filter(([, a]) => a.exitCode !== null || a.signalCode !== null).map(([name]) => name), LEASE_SECONDS);

  process.stdout.write('\nDone: three clusters under one root of trust; services exported, imported and\nresolved nearest-first; one RBAC baseline and one identity giving kubectl the same\nanswers everywhere; failover within seconds; a revoked cluster locked out.\n');
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  process.stderr.write(`\ndemo failed: ${(err as Error).message}\n`);
} finally {
  await step('Clean up (stop broker and clusters, remove temp files)', cleanup);
}
process.exitCode = failed ? 1 : 0;
