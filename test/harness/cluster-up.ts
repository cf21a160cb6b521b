// `npm run cluster:up -- --clusters 3 [--nodes]`: a local lab of N control planes (with
// --nodes: N clusters with a real node each) that stays up until Ctrl-C or SIGTERM, then
// cleans up everything it started.
import '../../certs/setup.ts';
import { Command, InvalidArgumentError } from 'commander';
import { resolveBinaries } from './binaries.ts';
import type { ClusterSet } from './cluster-set.ts';
import { HarnessError } from './errors.ts';
import type { PodNetworkLayout } from './lab-network.ts';
import { startClusters } from './start-clusters.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

interface CliOptions {
  clusters: number;
  names?: string[];
  serviceCidr: string;
  crds: boolean;
  json: boolean;
  nodes: boolean;
  podNetworks?: PodNetworkLayout;
}

/** 'routed', 'isolated' or comma-separated network names (one per cluster); startClusters validates them. */
function podNetworkLayout(v: string): PodNetworkLayout {
  return v === 'routed' || v === 'isolated' ? v : v.split(',').map((s) => s.trim());
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new InvalidArgumentError('expected an integer from 1 to 16');
  return n;
}

function parseArgs(argv: string[]): CliOptions {
  return new Command('cluster-up')
    .description('Start N local Kubernetes control planes (etcd + kube-apiserver, CRDs installed) until Ctrl-C or SIGTERM.')
    .option('-n, --clusters <count>', 'number of clusters', positiveInt, 2)
    .option('--names <list>', 'comma-separated cluster names (RFC-1123 labels)', (v: string) => v.split(',').map((s) => s.trim()))
    .option('--service-cidr <cidr>', 'service CIDR of every cluster', '10.96.0.0/16')
    .option('--no-crds', 'do not install crds/*.yaml')
    .option('--json', 'print one JSON line describing the lab instead of the text summary', false)
    .option('--nodes', 'a real node per cluster (containerd, kubelet, kube-proxy, CoreDNS) in its own network namespace; needs root and `npm run nodes:install`', false)
    .option('--pod-networks <layout>', 'with --nodes: routed (one pod network, the default), isolated (each cluster its own, same pod CIDR), or one network name per cluster, e.g. east,east,west', podNetworkLayout)
    .showHelpAfterError()
    .parse(argv)
    .opts<CliOptions>();
}

function describeText(set: ClusterSet, kubectl: string): string {
  const lines = [`${set.clusters.length} cluster(s) ready (etcd ${set.etcdEndpoint}):`, ''];
  for (const c of set.clusters) {
    lines.push(`${c.name}  ${c.server}`, `  kubeconfig: ${c.kubeconfigPath}`, `  ${kubectl} --kubeconfig ${c.kubeconfigPath} get ns`);
    if (c.node) lines.push(`  node ${c.node.name} ${c.node.ip} (netns ${c.node.netns}), pods ${c.node.podCidr} on pod network ${c.node.podNetwork}`);
    lines.push('');
  }
  lines.push(`Stop with Ctrl-C or \`kill -TERM ${process.pid}\`; every process and ${set.dir} are removed.`);
  return lines.join('\n');
}

function describeJson(set: ClusterSet): string {
  return JSON.stringify({
    pid: process.pid,
    dir: set.dir,
    clusters: set.clusters.map((c) => ({ name: c.name, server: c.server, kubeconfigPath: c.kubeconfigPath, node: c.node })),
    ...(set.lab ? { lab: { slot: set.lab.host.slot, wireNetns: set.lab.addressing.wireNetns, hostIp: set.lab.addressing.hostIp } } : {}),
    resources: set.resources(),
  });
}

function stopOnSignals(set: ClusterSet): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second signal: do not wait for graceful shutdown.
      set.killNow();
      process.exit(130);
    }
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the lab…\n`);
    set.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`cleanup failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  for (const s of SIGNALS) process.on(s, onSignal);
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv);
  const bins = resolveBinaries();
  if (!o.json) process.stderr.write(`starting ${o.clusters} cluster(s)${o.nodes ? ' with real nodes' : ''} with Kubernetes v${bins.k8sVersion}…\n`);
  const started = Date.now();
  // Interrupted while starting: exit at once; the harness's exit hook kills what started.
  const early = (): never => process.exit(130);
  for (const s of SIGNALS) process.once(s, early);
  if (o.podNetworks && !o.nodes) throw new HarnessError('PLX_HARNESS_BAD_OPTION', '--pod-networks needs --nodes');
  const nodes = o.nodes && o.podNetworks ? { podNetworks: o.podNetworks } : o.nodes;
  const set = await startClusters(o.clusters, { names: o.names, serviceCidrs: o.serviceCidr, installCrds: o.crds, nodes });
  for (const s of SIGNALS) process.off(s, early);
  stopOnSignals(set);
  if (o.json) process.stdout.write(describeJson(set) + '\n');
  else process.stdout.write(`${describeText(set, bins.kubectl)}\n(started in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

main().catch((err: unknown) => {
  const code = (err as { code?: string }).code;
  process.stderr.write(`cluster-up: ${code ? `${code}: ` : ''}${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
