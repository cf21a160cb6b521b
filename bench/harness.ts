// bench:harness — wall time from startClusters(3) to three kube-apiservers ready with every
// CRD Established, the time to stop them, and the components' peak RSS. Target: well
// under a minute for 3 clusters (integration tests start a set per file).
// With --nodes (npm run bench:harness -- --nodes): the real-node lab instead — time to a
// Ready node and to a Running pod, and memory per cluster (bench/harness-nodes.ts).
import '../certs/setup.ts';
import { parseArgs } from 'node:util';
import { percentile, recordBenchmark } from './record.ts';
import { resolveBinaries } from '../test/harness/binaries.ts';
import { startClusters } from '../test/harness/start-clusters.ts';
import { benchNodes } from './harness-nodes.ts';

interface Sample { startMs: number; stopMs: number; etcdRss: number; apiServerRss: number; totalRss: number }

const MiB = 2 ** 20;

async function sampleOnce(clusters: number): Promise<Sample> {
  const t0 = performance.now();
  const set = await startClusters(clusters);
  const startMs = performance.now() - t0;
  // Peak (VmHWM) since each process started, read just before stopping.
  const rss = set.peakRss();
  const t1 = performance.now();
  await set.stop();
  const stopMs = performance.now() - t1;
  const apiServers = rss.filter((r) => r.component.startsWith('kube-apiserver'));
  return {
    startMs,
    stopMs,
    etcdRss: rss.find((r) => r.component === 'etcd')?.bytes ?? Number.NaN,
    apiServerRss: Math.max(...apiServers.map((r) => r.bytes)),
    totalRss: rss.reduce((sum, r) => sum + r.bytes, 0),
  };
}

function stats(values: number[], fmt: (v: number) => string): string[] {
  const sorted = [...values].sort((a, b) => a - b);
  return [fmt(sorted[0]!), fmt(percentile(sorted, 50)), fmt(sorted[sorted.length - 1]!)];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string' }, clusters: { type: 'string' }, nodes: { type: 'boolean', default: false } },
  });
  if (values.nodes) {
    await benchNodes(Number(values.runs ?? '3'), Number(values.clusters ?? '2'));
    return;
  }
  const runs = Number(values.runs ?? '5');
  const clusters = Number(values.clusters ?? '3');
  const bins = resolveBinaries();
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const s = await sampleOnce(clusters);
    process.stderr.write(`run ${i + 1}/${runs}: start ${(s.startMs / 1000).toFixed(2)} s, stop ${(s.stopMs / 1000).toFixed(2)} s, RSS ${(s.totalRss / MiB).toFixed(0)} MiB\n`);
    samples.push(s);
  }
  const sec = (v: number): string => `${(v / 1000).toFixed(2)} s`;
  const mib = (v: number): string => `${(v / MiB).toFixed(0)} MiB`;
  recordBenchmark({
    title: `bench:harness — start ${clusters} control planes (CRDs Established)`,
    columns: ['metric', 'min', 'median', 'max'],
    rows: [
      [`start ${clusters} clusters, CRDs Established`, ...stats(samples.map((s) => s.startMs), sec)],
      ['stop (processes gone, temp dir removed)', ...stats(samples.map((s) => s.stopMs), sec)],
      ['peak RSS etcd (shared)', ...stats(samples.map((s) => s.etcdRss), mib)],
      ['peak RSS kube-apiserver (largest)', ...stats(samples.map((s) => s.apiServerRss), mib)],
      ['peak RSS all components', ...stats(samples.map((s) => s.totalRss), mib)],
    ],
    notes: [
      `${runs} runs, sequential; Kubernetes v${bins.k8sVersion}, etcd ${bins.etcdVersion}; one etcd, ${clusters} kube-apiservers, 3 CRDs each.`,
      'Start: from startClusters() to every /readyz 200 and every CRD Established (includes PKI generation with certs/).',
      'RSS: VmHWM of each component process read just before stop. Target: start well under 60 s.',
    ],
  });
}

await main();
