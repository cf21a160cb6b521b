// bench:certs — how fast the broker turns CSRs into stored certificates, and how fast
// clusters join end to end over real TLS on loopback. The ceiling is the raw WebCrypto
// signing rate for the same key type, measured in the same run.
//
// Issuance runs sequentially (one request at a time), so it measures one core; CPU time
// is reported beside wall time. Join latency is measured with the client in the same
// process, which makes it an upper bound for the broker's share.
import '../certs/setup.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCsr } from '../certs/csr.ts';
import { generateKeyPair, type KeyAlgorithm } from '../certs/keys.ts';
import { BrokerClient } from '../agent/broker-client/broker-client.ts';
import { parseBrokerConfig } from '../broker/config.ts';
import { dataDirLayout, loadRoot } from '../broker/data-dir.ts';
import { ClusterIssuer } from '../broker/enroll/cluster-issuer.ts';
import { TokenRegistry } from '../broker/enroll/token-registry.ts';
import { initBroker } from '../broker/init.ts';
import { createRootLogger, startBroker } from '../broker/main.ts';
import { SqliteStore } from '../broker/store/sqlite-store.ts';
import { percentile, recordBenchmark } from './record.ts';

const clock = { now: () => new Date() };
const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function csrsFor(clusterset: string, clusterIds: string[], alg: KeyAlgorithm): Promise<string[]> {
  const out: string[] = [];
  for (const id of clusterIds) {
    const keys = await generateKeyPair(alg);
    out.push(await createCsr({ keys, commonName: id, identity: { trustDomain: clusterset, kind: 'cluster', name: id } }));
  }
  return out;
}

/** Raw signatures per second over a certificate-sized message: the physical ceiling. */
async function signingCeiling(alg: KeyAlgorithm, n: number): Promise<number> {
  const keys = await generateKeyPair(alg);
  const params = alg === 'P-256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  const data = new Uint8Array(600).fill(7);
  const start = performance.now();
  for (let i = 0; i < n; i++) await crypto.subtle.sign(params, keys.privateKey, data);
  return n / ((performance.now() - start) / 1000);
}

async function issuanceRate(alg: KeyAlgorithm, n: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-certs-'));
  try {
    const clusterset = 'bench.example';
    const init = await initBroker({ dataDir: path.join(dir, 'broker'), clusterset, algorithm: alg, now: clock.now() });
    const { ca } = await loadRoot(init.layout);
    const store = SqliteStore.open(init.layout.store);
    const tokens = new TokenRegistry({ store, clock, caFingerprint: init.caFingerprint });
    const issuer = new ClusterIssuer({ ca, clusterset, lifetimeSeconds: 24 * 3600 });
    const clusterIds = ids(n, alg === 'P-256' ? 'p' : 'r');
    const tokenIds: string[] = [];
    for (const c of clusterIds) tokenIds.push((await tokens.create({ cluster: c })).info.id);
    const csrs = await csrsFor(clusterset, clusterIds, alg);

    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const csr = await issuer.readClusterCsr(csrs[i]!, clusterIds[i]!);
      const issued = await issuer.issue(csr, clusterIds[i]!, clock.now());
      const r = await store.completeJoin({ tokenId: tokenIds[i]!, clusterId: clusterIds[i]!, certificate: issued, now: clock.now() });
      if (!r.ok) throw new Error(`join ${i} failed: ${r.reason}`);
    }
    const wallS = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await store.close();
    return { perSecond: n / wallS, perCpuSecond: n / ((cpu.user + cpu.system) / 1e6) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function joinLatency(n: number, concurrency: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-join-'));
  const clusterset = 'bench.example';
  const init = await initBroker({ dataDir: path.join(dir, 'broker'), clusterset, now: clock.now() });
  const config = parseBrokerConfig({ dataDir: init.dataDir, listen: '127.0.0.1:0', logLevel: 'silent' });
  const broker = await startBroker(config, { logger: createRootLogger('silent') });
  try {
    const tokens = new TokenRegistry({ store: broker.store, clock, caFingerprint: init.caFingerprint });
    const clusterIds = ids(n, 'j');
    const tokenList: string[] = [];
    for (const c of clusterIds) tokenList.push((await tokens.create({ cluster: c })).token);
    const csrs = await csrsFor(clusterset, clusterIds, 'P-256');
    const { trustBundle } = await loadRoot(dataDirLayout(init.dataDir));
    const client = new BrokerClient({ baseUrl: broker.url, trustBundle: trustBundle.toPem() });
    await client.trustBundle(); // warm the connection pool
    const latencies: number[] = [];
    let next = 0;
    const start = performance.now();
    const worker = async () => {
      for (let i = next++; i < n; i = next++) {
        const t0 = performance.now();
        await client.join({ token: tokenList[i]!, csr: csrs[i]! });
        latencies.push(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wallS = (performance.now() - start) / 1000;
    await client.close();
    latencies.sort((a, b) => a - b);
    return { perSecond: n / wallS, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (x: number, d = 0) => x.toFixed(d);
const p256 = await issuanceRate('P-256', 2000);
const rsa = await issuanceRate('RSA-2048', 300);
const ceilP256 = await signingCeiling('P-256', 5000);
const ceilRsa = await signingCeiling('RSA-2048', 500);
const seqJoin = await joinLatency(300, 1);
const parJoin = await joinLatency(600, 16);

recordBenchmark({
  title: 'bench:certs — issuance from CSRs and joins end to end',
  columns: ['measure', 'P-256', 'RSA-2048', 'target'],
  rows: [
    ['issued/s, CSR verify + sign + store (sequential, wall)', fmt(p256.perSecond), fmt(rsa.perSecond), '≥ 500 (P-256)'],
    ['issued per CPU-second', fmt(p256.perCpuSecond), fmt(rsa.perCpuSecond), ''],
    ['ceiling: raw WebCrypto signatures/s (same run)', fmt(ceilP256), fmt(ceilRsa), ''],
    ['issuance / ceiling', fmt(p256.perSecond / ceilP256, 2), fmt(rsa.perSecond / ceilRsa, 2), ''],
    ['joins/s end to end, 1 at a time (HTTPS, TLS 1.3)', fmt(seqJoin.perSecond), '', ''],
    ['join latency p50 / p99 ms, 1 at a time', `${fmt(seqJoin.p50, 2)} / ${fmt(seqJoin.p99, 2)}`, '', 'p99 ≤ 50 ms'],
    ['joins/s end to end, 16 concurrent', fmt(parJoin.perSecond), '', ''],
    ['join latency p50 / p99 ms, 16 concurrent', `${fmt(parJoin.p50, 2)} / ${fmt(parJoin.p99, 2)}`, '', ''],
  ],
  notes: [
    'Issuance: 2,000 P-256 and 300 RSA-2048 CSRs, each verified, checked for identity, signed by a root of the same algorithm, and committed with its one-time token in one SQLite transaction (WAL, synchronous=FULL).',
    'Joins: real broker on 127.0.0.1, undici client over TLS 1.3 in the same process (client CPU included); keys and CSRs generated beforehand.',
  ],
});
