// bench:harness --nodes — the real-node lab: from startClusters(n, { nodes: true }) to every
// node Ready (and from each kubelet's start to its node Ready), to CoreDNS answering through
// kube-proxy, then a new pod from create to Running; memory per cluster; time to stop.
// Reference from a trial on this kind of machine (shared/REAL-NODES.md): a node Ready about
// 11 s after etcd started, pods Running about 1 s after creation, about 0.85 GB per cluster.
import { CoreV1Api } from '@kubernetes/client-node';
import { formatRun, percentile, recordBenchmark } from './record.ts';
import type { BenchmarkRun } from './record.ts';
import { resolveNodeBinaries } from '../test/harness/binaries.ts';
import type { ClusterSet } from '../test/harness/cluster-set.ts';
import { startClusters } from '../test/harness/start-clusters.ts';
import { waitFor } from '../test/harness/wait-for.ts';

interface NodeSample {
  labMs: number;             // startClusters() resolved: nodes Ready, CoreDNS answering
  nodeReadyMs: number;       // slowest node: set start → Ready
  kubeletReadyMs: number;    // slowest node: kubelet start → Ready
  podRunningMs: number;      // slowest of one new pod per cluster: create → Running
  clusterBytes: number;      // largest cluster: its components' peak RSS + its pods' RSS
  etcdBytes: number;
  stopMs: number;
}

const MiB = 2 ** 20;

async function podRunning(set: ClusterSet, i: number): Promise<number> {
  const core = set.clusters[i]!.client(CoreV1Api);
  const name = `bench-${Date.now()}`;
  const t0 = performance.now();
  await core.createNamespacedPod({
    namespace: 'default',
    body: {
      metadata: { name },
      spec: { containers: [{ name: 'sleep', image: set.lab!.images.tools, imagePullPolicy: 'Never', command: ['sleep', '3600'] }] },
    },
  });
  await waitFor(async () => ((await core.readNamespacedPod({ name, namespace: 'default' })).status?.phase === 'Running' ? true : undefined),
    { what: `pod ${name} Running`, timeoutMs: 60_000, intervalMs: 25 });
  return performance.now() - t0;
}

function clusterMemory(set: ClusterSet): { largest: number; etcd: number } {
  const rss = set.peakRss();
  const perCluster = set.clusters.map((c) => {
    const own = rss.filter((r) => r.component.endsWith(`-${c.name}`)).reduce((sum, r) => sum + r.bytes, 0);
    return own + (set.lab!.nodes.find((n) => n.options.clusterName === c.name)?.podMemoryBytes() ?? 0);
  });
  return { largest: Math.max(...perCluster), etcd: rss.find((r) => r.component === 'etcd')?.bytes ?? Number.NaN };
}

async function sampleOnce(clusters: number): Promise<NodeSample> {
  const t0 = performance.now();
  const set = await startClusters(clusters, { nodes: true, installCrds: false });
  const labMs = performance.now() - t0;
  try {
    const nodes = set.lab!.nodes;
    const nodeReadyMs = Math.max(...nodes.map((n) => n.readyAt! - t0));
    const kubeletReadyMs = Math.max(...nodes.map((n) => n.readyAt! - n.kubeletStartedAt!));
    const podRunningMs = Math.max(...await Promise.all(set.clusters.map((_, i) => podRunning(set, i))));
    const mem = clusterMemory(set);
    const t1 = performance.now();
    await set.stop();
    return { labMs, nodeReadyMs, kubeletReadyMs, podRunningMs, clusterBytes: mem.largest, etcdBytes: mem.etcd, stopMs: performance.now() - t1 };
  } finally {
    await set.stop();
  }
}

function stats(values: number[], fmt: (v: number) => string): string[] {
  const sorted = [...values].sort((a, b) => a - b);
  return [fmt(sorted[0]!), fmt(percentile(sorted, 50)), fmt(sorted[sorted.length - 1]!)];
}

export async function benchNodes(runs: number, clusters: number): Promise<void> {
  const bins = resolveNodeBinaries();
  const samples: NodeSample[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await sampleOnce(clusters);
    process.stderr.write(`run ${i + 1}/${runs}: lab ${(s.labMs / 1000).toFixed(1)} s, node Ready ${(s.nodeReadyMs / 1000).toFixed(1)} s, ` +
      `pod Running ${(s.podRunningMs / 1000).toFixed(2)} s, ${(s.clusterBytes / MiB).toFixed(0)} MiB/cluster, stop ${(s.stopMs / 1000).toFixed(1)} s\n`);
    samples.push(s);
  }
  const sec = (v: number): string => `${(v / 1000).toFixed(2)} s`;
  const mib = (v: number): string => `${(v / MiB).toFixed(0)} MiB`;
  const col = (f: (s: NodeSample) => number, fmt: (v: number) => string): string[] => stats(samples.map(f), fmt);
  const run: BenchmarkRun = {
    title: `bench:harness --nodes — ${clusters} clusters with a real node each`,
    columns: ['metric', 'min', 'median', 'max'],
    rows: [
      ['start → every node Ready (slowest node)', ...col((s) => s.nodeReadyMs, sec)],
      ['kubelet start → its node Ready (slowest node)', ...col((s) => s.kubeletReadyMs, sec)],
      [`start → lab up (${clusters} nodes Ready, CoreDNS answering via kube-proxy)`, ...col((s) => s.labMs, sec)],
      ['new pod: create → Running (slowest of one per cluster)', ...col((s) => s.podRunningMs, sec)],
      ['memory per cluster (largest): components peak RSS + pods RSS', ...col((s) => s.clusterBytes, mib)],
      ['peak RSS etcd (shared by all clusters)', ...col((s) => s.etcdBytes, mib)],
      ['stop (processes gone, namespaces, mounts, cgroups removed, sysctls restored)', ...col((s) => s.stopMs, sec)],
    ],
    notes: [
      `${runs} runs, sequential; Kubernetes v${bins.k8sVersion}, etcd ${bins.etcdVersion}; per cluster: kube-apiserver, kube-controller-manager, kube-scheduler, containerd, kubelet, kube-proxy, CoreDNS (pod); no CRDs.`,
      'Memory per cluster: VmHWM of the cluster\'s processes (the six above) plus total_rss of its pods\' memory cgroup (CoreDNS and the bench pod), read just before stop.',
      'Reference (shared/REAL-NODES.md, a trial on this kind of machine): node Ready ~11 s after etcd started, pod Running ~1 s after creation, ~0.85 GB per cluster.',
    ],
  };
  // BENCH_NO_RECORD prints without recording, as in the other benches.
  if (process.env.BENCH_NO_RECORD) process.stdout.write(formatRun(run));
  else recordBenchmark(run);
}
