// bench:rotation — 1,000 simulated agents renew their cluster certificates against one real
// broker process, with lifetimes compressed so that every agent renews within a few minutes.
// Reports the broker's peak and mean CPU, the peak renewal rate, how the renewals spread
// over time (the jitter at work) and failed renewals (target 0; the run exits 1 otherwise).
//
// The broker is `plexus broker init/start` in its own process, so its CPU comes from
// /proc/<pid>/stat. Each simulated agent does what a real one does: renewal time from
// certs/renewal.ts (2/3 of the lifetime ± 10% jitter), a fresh key and CSR, POST /v1/renew
// over mTLS with its current certificate (BrokerClient.renew), retry with backoff on
// failure, then proves the new certificate with one mTLS call (POST /v1/lease). Keys and
// CSRs are generated before the clock starts, so this process's key generation does not
// compete with the broker during the measured window.
import '../certs/setup.ts';
import { X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { BrokerClient } from '../agent/broker-client/broker-client.ts';
import { joinAll, mintTokens, startBroker, type Enrolled } from './rotation-fleet.ts';
import { renewalTime } from '../certs/renewal.ts';
import { formatRun, percentile, recordBenchmark, type BenchmarkRun } from './record.ts';
import { histogram, peakPerBucket, type CpuSample } from './rotation-stats.ts';

const AGENTS = Number(process.env.ROTATION_AGENTS ?? 1000);
const LIFETIME_S = Number(process.env.ROTATION_LIFETIME_SECONDS ?? 300);
const JITTER = 0.1;
const FRACTION = 2 / 3;
const CPU_SAMPLE_MS = 250;
const CLUSTERSET = 'rotation.example';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Renewal {
  /** Planned and actual renewal instants, ms since epoch. */
  planned: number;
  unjittered: number;
  startedAt: number;
  doneAt: number;
  /** Planned instant relative to the old certificate's own issue time (notBefore + skew). */
  offsetS: number;
  latencyMs: number;
  attempts: number;
  failures: number;
  /** The new certificate was accepted for mTLS (POST /v1/lease). */
  verified: boolean;
  error?: string;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Samples the broker's CPU (user+sys) every CPU_SAMPLE_MS until stop() is called. */
function sampleCpu(pid: number): { samples: CpuSample[]; stop: () => void } {
  const samples: CpuSample[] = [];
  let lastT = Date.now();
  let lastTicks = cpuTicks(pid);
  const timer = setInterval(() => {
    const t = Date.now();
    const ticks = cpuTicks(pid);
    samples.push({ at: t, cpuPercent: (((ticks - lastTicks) * 1000) / CLK_TCK / (t - lastT)) * 100 });
    lastT = t;
    lastTicks = ticks;
  }, CPU_SAMPLE_MS);
  return { samples, stop: () => clearInterval(timer) };
}

/** One agent's renewal loop, once: wait for the jittered instant, renew, retry with backoff. */
async function renewOnce(url: string, caPem: string, a: Enrolled): Promise<Renewal> {
  const x = new X509Certificate(a.certPem);
  const notBefore = x.validFromDate;
  const notAfter = x.validToDate;
  const planned = renewalTime({ notBefore, notAfter, random: Math.random, fraction: FRACTION, jitter: JITTER }).getTime();
  const unjittered = renewalTime({ notBefore, notAfter, random: () => 0.5, fraction: FRACTION, jitter: 0 }).getTime();
  const issuedAt = notBefore.getTime() + 60_000;
  await delay(Math.max(0, planned - Date.now()));
  const r: Renewal = { planned, unjittered, startedAt: Date.now(), doneAt: 0, offsetS: (planned - issuedAt) / 1000, latencyMs: 0, attempts: 0, failures: 0, verified: false };
  const client = new BrokerClient({ baseUrl: url, trustBundle: caPem, clientCert: { certPem: a.certPem, keyPem: a.keyPem } });
  let backoffMs = 500;
  try {
    for (;;) {
      r.attempts++;
      const t0 = performance.now();
      try {
        const res = await client.renew({ csr: a.nextCsr });
        r.latencyMs = performance.now() - t0;
        r.doneAt = Date.now();
        r.verified = await proveNewCert(url, caPem, res.certificate, a);
        return r;
      } catch (err) {
        r.failures++;
        r.error = `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`;
        // Past the old certificate's expiry no retry can succeed: the agent must re-enrol.
        if (Date.now() + backoffMs >= notAfter.getTime()) return r;
        await delay(backoffMs * (0.8 + 0.4 * Math.random()));
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  } finally {
    await client.close();
  }
}

/** The renewed certificate carries the new key and the broker accepts it for mTLS. */
async function proveNewCert(url: string, caPem: string, certPem: string, a: Enrolled): Promise<boolean> {
  const next = new X509Certificate(certPem);
  if (next.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') !== a.nextSpki) return false;
  if (next.validToDate.getTime() <= new X509Certificate(a.certPem).validToDate.getTime()) return false;
  const c = new BrokerClient({ baseUrl: url, trustBundle: caPem, clientCert: { certPem, keyPem: a.nextKeyPem } });
  try {
    await c.renewLease();
    return true;
  } catch {
    return false;
  } finally {
    await c.close();
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-rotation-'));
  const broker = await startBroker(root, CLUSTERSET, LIFETIME_S);
  let failed = true;
  try {
    const tokens = await mintTokens(broker, AGENTS);
    const { fleet, prepS, enrollS, enrollSpanS } = await joinAll(broker, CLUSTERSET, tokens);
    const cpu = sampleCpu(broker.pid);
    const renewals = await Promise.all(fleet.map((a) => renewOnce(broker.url, broker.caPem, a)));
    cpu.stop();
    failed = report(renewals, cpu.samples, { prepS, enrollS, enrollSpanS });
  } finally {
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

interface RunInfo { prepS: number; enrollS: number; enrollSpanS: number }

/** Records the run; true when any renewal failed or any new certificate was not accepted. */
function report(renewals: Renewal[], cpu: CpuSample[], info: RunInfo): boolean {
  const done = renewals.filter((r) => r.doneAt > 0);
  const failedAttempts = renewals.reduce((n, r) => n + r.failures, 0);
  const notRenewed = renewals.length - done.length;
  const unverified = done.filter((r) => !r.verified).length;
  const t0 = Math.min(...renewals.map((r) => r.planned));
  const peak = peakPerBucket(done.map((r) => r.doneAt), 1000);
  const peakUnjittered = peakPerBucket(renewals.map((r) => r.unjittered), 1000);
  // CPU over the renewal window only: from the first planned renewal to the last completion.
  const tEnd = Math.max(...done.map((r) => r.doneAt)) + CPU_SAMPLE_MS;
  const window = cpu.filter((s) => s.at >= t0 && s.at <= tEnd);
  const meanCpu = window.reduce((n, s) => n + s.cpuPercent, 0) / Math.max(1, window.length);
  const wallS = (tEnd - t0) / 1000;
  const peakCpu = Math.max(...cpu.map((s) => s.cpuPercent));
  const peakCpu1s = peakPerBucket(cpu.map((s) => s.at), 1000, cpu.map((s) => s.cpuPercent * (CPU_SAMPLE_MS / 1000)));
  const offsets = renewals.map((r) => r.offsetS).sort((a, b) => a - b);
  const absolute = done.map((r) => r.doneAt / 1000).sort((a, b) => a - b);
  const spanS = LIFETIME_S + 60;
  const theoryWindow = 2 * JITTER * spanS;
  const measuredWindow = percentile(offsets, 99) - percentile(offsets, 1);
  const absWindow = percentile(absolute, 99) - percentile(absolute, 1);
  const latencies = done.map((r) => r.latencyMs).sort((a, b) => a - b);
  const f = (n: number, d = 1) => n.toFixed(d);
  const run: BenchmarkRun = {
    title: `bench:rotation — ${renewals.length} agents renew within minutes (certificate lifetime ${LIFETIME_S} s)`,
    columns: ['metric', 'measured', 'reference (same run)', 'measured / reference'],
    rows: [
      ['failed renewal attempts / agents not renewed / new cert refused', `${failedAttempts} / ${notRenewed} / ${unverified}`, 'target 0 / 0 / 0', ''],
      ['broker CPU peak (250 ms samples) / peak 1 s', `${f(peakCpu)} % / ${f(peakCpu1s)} %`, 'one core = 100 %', f(peakCpu1s / 100, 2)],
      ['broker CPU mean over the renewal window', `${f(meanCpu)} %`, 'one core = 100 %', f(meanCpu / 100, 3)],
      ['peak renewals/s (1 s buckets, completions)', peak, `${peakUnjittered} un-jittered (this run's join times); ${renewals.length} if all joined at once`, `${f(peak / peakUnjittered, 2)} / ${f(peak / renewals.length, 3)}`],
      ['spread of renewal instants after issue, p1–p99', `${f(measuredWindow)} s`, `${f(theoryWindow * 0.98)} s (uniform ±${JITTER * 100} % of ${spanS} s, p1–p99)`, f(measuredWindow / (theoryWindow * 0.98), 2)],
      ['spread of completions in wall time, p1–p99', `${f(absWindow)} s`, `joins spread over ${f(info.enrollSpanS)} s`, ''],
      ['renew latency p50 / p99 / max (TLS handshake + CSR verify + sign + store)', `${f(percentile(latencies, 50))} / ${f(percentile(latencies, 99))} / ${f(latencies.at(-1) ?? NaN)} ms`, '', ''],
    ],
    notes: [
      `Broker: \`plexus broker start --cluster-cert-lifetime ${LIFETIME_S}s\` in its own process; certificates are backdated 60 s for clock skew, so each spans ${spanS} s and renews at ${f(FRACTION * spanS - 60)} s ± ${f(JITTER * spanS)} s after issue. CPU from /proc/<pid>/stat (utime+stime, ${CLK_TCK} ticks/s) every ${CPU_SAMPLE_MS} ms.`,
      `Agents: ${renewals.length} clusters enrolled with admin-API tokens and real CSRs (${f(info.enrollS)} s); each then runs one renewal in this process: certs/renewal.ts renewalTime, a fresh P-256 key and CSR (generated before the run, ${f(info.prepS)} s), BrokerClient.renew over mTLS (a new TLS 1.3 connection per renewal), retry 0.5 s doubling to 10 s, then one mTLS POST /v1/lease with the new certificate.`,
      `Renewals over time (10 s buckets from the first planned renewal): ${histogram(done.map((r) => r.doneAt - t0), 10_000)}`,
      `Renewal window ${f(wallS)} s (first planned renewal to last completion); all clients share the 2 cores with the broker (and with other work: see load).`,
    ],
  };
  // Development runs with fewer agents print their figures without recording them.
  if (renewals.length >= 1000) recordBenchmark(run);
  else process.stdout.write(formatRun(run));
  for (const r of renewals.filter((x) => x.failures > 0 || !x.verified).slice(0, 5)) console.error(`failure: ${r.error ?? 'new certificate not accepted'}`);
  return failedAttempts > 0 || notRenewed > 0 || unverified > 0;
}

await main();
