// bench:etcd-client — which etcd client the broker uses (issue 16): the `etcd3` package
// (gRPC on @grpc/grpc-js) or etcd's JSON gateway through undici, measured against a real
// 3-member etcd 3.6 cluster with TLS 1.3 and client certificates (test/harness/etcd-cluster.ts).
// Each candidate runs in a child process of its own (bench/etcd-client-worker.ts) so its
// RSS is its own; rounds alternate the order so neither always runs on a warmer cluster.
// ETCD_BENCH_ROUNDS (default 3), ETCD_BENCH_SAMPLES (500), ETCD_BENCH_KEYS (10000);
// BENCH_NO_RECORD=1 prints without touching BENCHMARKS.md.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEtcdCluster } from '../test/harness/etcd-cluster.ts';
import { formatRun, percentile, recordBenchmark, type BenchmarkRun } from './record.ts';

const ROUNDS = Number(process.env.ETCD_BENCH_ROUNDS ?? 3);
const SAMPLES = Number(process.env.ETCD_BENCH_SAMPLES ?? 500);
const KEYS = Number(process.env.ETCD_BENCH_KEYS ?? 10_000);
const WRITERS = 64;
const CANDIDATES = ['gateway', 'etcd3'] as const;
type Which = (typeof CANDIDATES)[number];
const worker = path.join(import.meta.dirname, 'etcd-client-worker.ts');
const run = promisify(execFile);

interface Result {
  which: Which;
  put: number[]; cas: number[]; watch: number[]; range: number[];
  conflicts: number; throughput: number;
  rssBefore: number; rssLoaded: number; rssUsed: number; heapLoaded: number; heapUsed: number;
}

const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
const ms = (x: number): string => `${x.toFixed(2)} ms`;
const mib = (x: number): string => `${(x / 2 ** 20).toFixed(1)} MiB`;

async function main(): Promise<void> {
  try {
    import.meta.resolve('etcd3');
  } catch {
    throw new Error('bench:etcd-client compares against the etcd3 package (a devDependency, for this benchmark only): run `npm ci` first');
  }
  const cluster = await startEtcdCluster({ members: 3 });
  const results: Record<Which, Result[]> = { gateway: [], etcd3: [] };
  try {
    // A follower, as most of a broker's replicas would talk to: writes go through the leader.
    const leader = await cluster.leader();
    const endpoint = cluster.members.find((_, i) => i !== leader)!.endpoint;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? CANDIDATES : [...CANDIDATES].reverse();
      for (const which of order) {
        const spec = {
          endpoint, prefix: `bench/${which}/${round}`,
          ca: cluster.tls.files.ca, cert: cluster.tls.files.cert, key: cluster.tls.files.key,
          samples: SAMPLES, rangeKeys: KEYS, writers: WRITERS,
        };
        const { stdout } = await run(process.execPath, ['--expose-gc', '--max-semi-space-size=1', worker, which], {
          env: { ...process.env, ETCD_BENCH: JSON.stringify(spec) }, maxBuffer: 64 * 2 ** 20,
        });
        const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Result;
        if (r.conflicts) throw new Error(`${which}: ${r.conflicts} CAS conflicts with a single writer`);
        results[which].push(r);
        process.stderr.write(`round ${round + 1}/${ROUNDS} ${which}: put p50 ${ms(percentile(r.put, 50))}, ${r.throughput.toFixed(0)} puts/s\n`);
      }
    }
  } finally {
    await cluster.stop();
  }

  // Per figure: the median over rounds of each round's percentile.
  const fig = (w: Which, f: (r: Result) => number): number => median(results[w].map(f));
  const rows: [string, (r: Result) => number, (x: number) => string, 'lower' | 'higher'][] = [
    ['put p50', (r) => percentile(r.put, 50), ms, 'lower'],
    ['put p99', (r) => percentile(r.put, 99), ms, 'lower'],
    ['CAS txn p50', (r) => percentile(r.cas, 50), ms, 'lower'],
    ['CAS txn p99', (r) => percentile(r.cas, 99), ms, 'lower'],
    ['watch delivery p50 (put sent → event received)', (r) => percentile(r.watch, 50), ms, 'lower'],
    ['watch delivery p99', (r) => percentile(r.watch, 99), ms, 'lower'],
    [`prefix range of ${KEYS.toLocaleString('en')} keys (median of 5)`, (r) => percentile(r.range, 50), ms, 'lower'],
    [`throughput, ${WRITERS} concurrent writers (puts/s)`, (r) => r.throughput, (x) => x.toFixed(0), 'higher'],
    ['RSS added to a broker floor by loading + connecting (after GC)', (r) => r.rssLoaded - r.rssBefore, mib, 'lower'],
    ['V8 heap added by loading + connecting (after GC)', (r) => r.heapLoaded, mib, 'lower'],
    ['RSS added after the whole workload (after GC)', (r) => r.rssUsed - r.rssBefore, mib, 'lower'],
    ['V8 heap added after the whole workload (after GC)', (r) => r.heapUsed, mib, 'lower'],
  ];
  const table: BenchmarkRun = {
    title: 'bench:etcd-client — etcd3 (gRPC) vs the JSON gateway through undici, 3-member etcd 3.6 cluster, TLS 1.3 mutual',
    columns: ['figure', 'JSON gateway (undici, HTTP/2)', 'etcd3 1.1.2 (@grpc/grpc-js)', 'etcd3 / gateway'],
    rows: rows.map(([name, f, fmt]) => {
      const g = fig('gateway', f);
      const e = fig('etcd3', f);
      return [name, fmt(g), fmt(e), `${(e / g).toFixed(2)}×`];
    }),
    notes: [
      `${ROUNDS} rounds, order alternating; each figure is the median over rounds. Per round and candidate: ${SAMPLES} sequential puts, ${SAMPLES} sequential compare-and-swap txns (mod_revision equal → put), ${SAMPLES} watch deliveries on a prefix watch (one put at a time, timed until the event arrives), ${KEYS.toLocaleString('en')} puts by ${WRITERS} concurrent writers (throughput), then 5 full ranges of those keys, decoded.`,
      'Both talk to one follower member over one connection (gRPC: HTTP/2; gateway: HTTP/2 by ALPN, undici allowH2), TLS 1.3 with a client certificate; etcd members on loopback with --unsafe-no-fsync, so the figures are client + etcd CPU, not disk.',
      'Memory: a fresh child (Node 24, --max-semi-space-size=1 as deploy/broker sets) first loads the broker\'s libraries (bench/role-libraries.ts: undici, fastify, pino, zod, …) and node:tls, the broker\'s floor; then VmRSS and V8 heapUsed after three forced GCs, before loading the client vs after loading it and connecting (one put), and again after the whole workload (the 10k-key ranges leave allocator pages RSS keeps). The gateway candidate loads nothing new but node:http2; etcd3 adds @grpc/grpc-js, @grpc/proto-loader (protobufjs, the parsed .proto files), cockatiel and bignumber.js.',
      `Ratios are etcd3 / gateway: below 1× etcd3 is faster or smaller, except for throughput where above 1× etcd3 is higher.`,
    ],
  };
  if (process.env.BENCH_NO_RECORD) process.stdout.write(formatRun(table));
  else recordBenchmark(table);
}

await main();
