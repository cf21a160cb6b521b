// bench:rotation — 1,000 simulated agents renew their cluster certificates against one real
// broker process, with lifetimes compressed so that every agent renews within a few minutes.
// Reports the broker's peak and mean CPU, the peak renewal rate against the broker's
// renewal capacity measured in the same run (every agent renews again at once), how the
// renewals spread over time (the jitter at work) and failed renewals (target 0; the run
// exits 1 otherwise).
//
// The broker is `plexus broker init/start` in its own process, so its CPU comes from
// /proc/<pid>/stat. Each simulated agent runs the agent's own renewal code: a
// CertificateRotator (agent/identity/rotator.ts: 2/3 of the lifetime ± 10% jitter, a fresh
// key and CSR, retry with backoff) over a LiveIdentity and a BrokerClient that follows it
// (POST /v1/renew over mTLS with the current certificate). After renewing, each agent
// proves the new certificate with one mTLS call (POST /v1/lease). Join keys and CSRs are
// generated before enrolment; renewal keys are made by the rotator, as in production.
import '../certs/setup.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { pino } from 'pino';
import { BrokerClient } from '../agent/broker-client/broker-client.ts';
import type { StoredIdentity } from '../agent/identity/identity-store.ts';
import { LiveIdentity } from '../agent/identity/live-identity.ts';
import { certificateDates, type RenewCall } from '../agent/identity/renew-identity.ts';
import { CertificateRotator } from '../agent/identity/rotator.ts';
import { systemClock, systemTimers } from '../agent/timing/clock.ts';
import { joinAll, keyAndCsr, mintTokens, startBroker, type Enrolled, type KeyMaterial } from './rotation-fleet.ts';
import { pool } from './pool.ts';
import { formatRun, percentile, recordBenchmark, type BenchmarkRun } from './record.ts';
import { clockTicksPerSecond, sampleProcess, type ProcSample } from './proc-sampler.ts';
import { histogram, peakPerBucket } from './rotation-stats.ts';

const AGENTS = Number(process.env.ROTATION_AGENTS ?? 1000);
const LIFETIME_S = Number(process.env.ROTATION_LIFETIME_SECONDS ?? 300);
/** The rotator's defaults, restated for the theoretical window. */
const JITTER = 0.1;
const FRACTION = 2 / 3;
const RETRY = { baseMs: 500, maxMs: 10_000, jitter: 0.2 };
const CPU_SAMPLE_MS = 250;
/** Renewals in flight while the broker's capacity is measured: enough to keep one broker core busy. */
const BURST_CONCURRENCY = 64;
const GIVE_UP_AFTER_EXPIRY_MS = 60_000;
const CLUSTERSET = 'rotation.example';
const quiet = pino({ level: 'silent' });

interface Renewal {
  /** Planned (jittered) and un-jittered renewal instants, ms since epoch. */
  planned: number;
  unjittered: number;
  /** When the new identity was in place (0: never). */
  doneAt: number;
  /** It was in place only after the old certificate had expired (the broker's renew grace let it through). */
  late: boolean;
  /** Planned instant after the old certificate was issued, in seconds. */
  offsetS: number;
  /** Of the successful POST /v1/renew. */
  latencyMs: number;
  attempts: number;
  /** POST /v1/renew calls that failed (timeout, refusal, connection). */
  failures: number;
  /** Answers the rotator's own checks rejected (verify, identity, key): attempts − failures − success. */
  rejected: number;
  /** The new certificate was accepted for mTLS (POST /v1/lease). */
  verified: boolean;
  /** `renew: CODE` / `lease: CODE` per failed call; the first message in full for the console. */
  errors: string[];
  firstError?: string;
  /** The renewed identity, for the capacity burst. */
  renewed?: StoredIdentity;
}

function noteError(r: Renewal, call: string, err: unknown): void {
  const e = err as { code?: string; brokerCode?: string; message?: string };
  r.errors.push(`${call}: ${e.brokerCode ?? e.code ?? 'error'}`);
  r.firstError ??= `${call}: ${e.code ?? ''} ${e.message ?? String(err)}`;
}

function storedIdentity(a: Enrolled, brokerUrl: string, caPem: string): StoredIdentity {
  return {
    clusterId: a.clusterId, identity: `spiffe://${CLUSTERSET}/cluster/${a.clusterId}`, brokerUrl,
    certPem: a.certPem, keyPem: a.keyPem, trustBundle: caPem, notAfter: certificateDates(a.certPem).notAfter.toISOString(),
  };
}

/** One agent until its first renewal (or its certificate's expiry): rotator, live identity, broker client. */
async function runAgent(url: string, caPem: string, a: Enrolled): Promise<Renewal> {
  const live = new LiveIdentity(storedIdentity(a, url, caPem));
  const client = new BrokerClient({ baseUrl: url, trustBundle: caPem, clientCert: { certPem: a.certPem, keyPem: a.keyPem } });
  const dates = certificateDates(a.certPem);
  const lifeMs = dates.notAfter.getTime() - dates.notBefore.getTime();
  const r: Renewal = { planned: 0, unjittered: dates.notBefore.getTime() + FRACTION * lifeMs, doneAt: 0, late: false, offsetS: 0, latencyMs: 0, attempts: 0, failures: 0, rejected: 0, verified: false, errors: [] };
  const renew: RenewCall = async (body) => {
    r.attempts++;
    const t0 = performance.now();
    try {
      const res = await client.renew(body);
      r.latencyMs = performance.now() - t0;
      return res;
    } catch (err) {
      r.failures++;
      noteError(r, 'renew', err);
      throw err;
    }
  };
  const expiry = new AbortController();
  const renewed = new Promise<StoredIdentity | undefined>((resolve) => {
    live.subscribe((next) => {
      client.useIdentity(next);
      r.doneAt = Date.now();
      resolve(next);
    });
    // The rotator keeps trying past expiry (the broker's renew grace); the bench gives up a minute after.
    delay(dates.notAfter.getTime() + GIVE_UP_AFTER_EXPIRY_MS - Date.now(), undefined, { signal: expiry.signal }).then(() => resolve(undefined), () => undefined);
  });
  const rotator = new CertificateRotator({ identity: live, renew, logger: quiet, clock: systemClock, timers: systemTimers, retry: RETRY });
  rotator.start();
  r.planned = rotator.renewAt!.getTime();
  r.offsetS = (r.planned - dates.notBefore.getTime()) / 1000;
  try {
    const next = await renewed;
    r.late = next !== undefined && r.doneAt > dates.notAfter.getTime();
    r.rejected = r.attempts - r.failures - (next ? 1 : 0);
    if (next) r.renewed = next;
    if (next) r.verified = await proveNewCert(client, r);
    return r;
  } finally {
    expiry.abort();
    await rotator.stop();
    await client.close();
  }
}

/** The broker accepts the renewed certificate for mTLS (the client already switched to it). */
async function proveNewCert(client: BrokerClient, r: Renewal): Promise<boolean> {
  try {
    await client.renewLease();
    return true;
  } catch (err) {
    noteError(r, 'lease with the new certificate', err);
    return false;
  }
}

interface Capacity { perS: number; n: number; failures: number; wallS: number }

/**
 * The broker's renewal capacity in this run, the ceiling the jittered peak is compared with:
 * every renewed agent renews once more, all at once (BURST_CONCURRENCY in flight, each on a
 * new mTLS connection as the rotator's are), keys and CSRs made beforehand; completions per second.
 */
async function measureCapacity(url: string, caPem: string, identities: StoredIdentity[]): Promise<Capacity> {
  const material: KeyMaterial[] = [];
  for (const id of identities) material.push(await keyAndCsr(CLUSTERSET, id.clusterId));
  let failures = 0;
  const t0 = performance.now();
  await pool(identities.length, BURST_CONCURRENCY, async (i) => {
    const id = identities[i]!;
    const client = new BrokerClient({ baseUrl: url, trustBundle: caPem, clientCert: { certPem: id.certPem, keyPem: id.keyPem } });
    try {
      await client.renew({ csr: material[i]!.csr });
    } catch {
      failures++;
    } finally {
      await client.close();
    }
  });
  const wallS = (performance.now() - t0) / 1000;
  return { perS: (identities.length - failures) / wallS, n: identities.length, failures, wallS };
}

async function main(): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-rotation-'));
  const broker = await startBroker(root, CLUSTERSET, LIFETIME_S);
  let failed = true;
  try {
    const tokens = await mintTokens(broker, AGENTS);
    const { fleet, prepS, enrollS, enrollSpanS } = await joinAll(broker, CLUSTERSET, tokens);
    const cpu = sampleProcess(broker.pid, CPU_SAMPLE_MS);
    // This process's own saturation: if its event loop lags, latencies are the client's.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const renewals = await Promise.all(fleet.map((a) => runAgent(broker.url, broker.caPem, a)));
    loop.disable();
    cpu.stop();
    const capacity = await measureCapacity(broker.url, broker.caPem, renewals.flatMap((r) => (r.renewed ? [r.renewed] : [])));
    failed = report(renewals, cpu.samples, { prepS, enrollS, enrollSpanS, loopP99Ms: loop.percentile(99) / 1e6, loopMaxMs: loop.max / 1e6, capacity });
  } finally {
    await broker.stop();
    rmSync(root, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

interface RunInfo { prepS: number; enrollS: number; enrollSpanS: number; loopP99Ms: number; loopMaxMs: number; capacity: Capacity }

/** The figures of one run, from the renewals and the broker's CPU samples. */
function summarize(renewals: Renewal[], cpu: ProcSample[]) {
  const done = renewals.filter((r) => r.doneAt > 0);
  const t0 = Math.min(...renewals.map((r) => r.planned));
  // CPU over the renewal window only: from the first planned renewal to the last completion.
  const tEnd = Math.max(t0, ...done.map((r) => r.doneAt)) + CPU_SAMPLE_MS;
  const window = cpu.filter((s) => s.at >= t0 && s.at <= tEnd);
  const cpuSeconds = window.reduce((n, s) => n + (s.cpuPercent / 100) * (CPU_SAMPLE_MS / 1000), 0);
  const delta = (k: 'waitMs' | 'pressureMs') => (window.length > 1 ? window.at(-1)![k] - window[0]![k] : NaN);
  const offsets = renewals.map((r) => r.offsetS).sort((a, b) => a - b);
  const absolute = done.map((r) => r.doneAt / 1000).sort((a, b) => a - b);
  return {
    done, t0, wallS: (tEnd - t0) / 1000,
    failedAttempts: renewals.reduce((n, r) => n + r.failures + r.rejected, 0),
    notRenewed: renewals.length - done.length,
    late: done.filter((r) => r.late).length,
    unverified: done.filter((r) => !r.verified).length,
    peak: peakPerBucket(done.map((r) => r.doneAt), 1000),
    peakUnjittered: peakPerBucket(renewals.map((r) => r.unjittered), 1000),
    meanCpu: (cpuSeconds / Math.max(1e-9, (tEnd - t0) / 1000)) * 100,
    cpuMsPerRenewal: (cpuSeconds * 1000) / Math.max(1, done.length),
    peakCpu: Math.max(...cpu.map((s) => s.cpuPercent)),
    peakCpu1s: peakPerBucket(cpu.map((s) => s.at), 1000, cpu.map((s) => s.cpuPercent * (CPU_SAMPLE_MS / 1000))),
    spreadS: percentile(offsets, 99) - percentile(offsets, 1),
    wallSpreadS: percentile(absolute, 99) - percentile(absolute, 1),
    latencies: done.map((r) => r.latencyMs).sort((a, b) => a - b),
    /** Shares of the window: the broker's main thread runnable but not running; the machine under CPU pressure. */
    brokerWaitShare: delta('waitMs') / Math.max(1, tEnd - t0),
    pressureShare: delta('pressureMs') / Math.max(1, tEnd - t0),
    errors: errorCounts(renewals),
  };
}

/** `PLX_… ×n` per distinct failure, so a timeout is told apart from a refusal. */
function errorCounts(renewals: Renewal[]): string {
  const counts = new Map<string, number>();
  for (const r of renewals) for (const e of r.errors) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts].map(([e, n]) => `${e} ×${n}`).join('; ') || 'none';
}

/** Records the run; true when any renewal failed or any new certificate was not accepted. */
function report(renewals: Renewal[], cpu: ProcSample[], info: RunInfo): boolean {
  const m = summarize(renewals, cpu);
  // The rotator plans from the issue time (notBefore + the 60 s backdating): uniform over ±JITTER of the lifetime.
  const theory = 2 * JITTER * LIFETIME_S * 0.98;
  const f = (n: number, d = 1) => n.toFixed(d);
  const lat = m.latencies;
  const run: BenchmarkRun = {
    title: `bench:rotation — ${renewals.length} agents renew within minutes (certificate lifetime ${LIFETIME_S} s)`,
    columns: ['metric', 'measured', 'reference (measured in this run unless marked)', 'measured / reference'],
    rows: [
      ['failed renewal attempts / agents not renewed / renewed only after expiry / new cert not accepted', `${m.failedAttempts} / ${m.notRenewed} / ${m.late} / ${m.unverified}`, 'target 0 / 0 / 0 / 0 (not measured)', ''],
      ['broker CPU peak (250 ms samples) / peak 1 s', `${f(m.peakCpu)} % / ${f(m.peakCpu1s)} %`, 'one core = 100 % (physical limit, not measured)', f(m.peakCpu1s / 100, 2)],
      ['broker CPU mean over the renewal window', `${f(m.meanCpu)} %`, 'one core = 100 % (physical limit, not measured)', f(m.meanCpu / 100, 3)],
      ['broker CPU per renewal (renew + the proving lease call, both with a TLS handshake)', `${f(m.cpuMsPerRenewal)} ms`, '', ''],
      ['peak renewals/s (1 s buckets, completions)', m.peak, `broker capacity ${f(info.capacity.perS)}/s (all ${info.capacity.n} renewed agents renew again at once, ${BURST_CONCURRENCY} in flight; ${info.capacity.failures} failed)`, f(m.peak / info.capacity.perS, 2)],
      ['peak planned renewals/s without jitter', m.peakUnjittered, `computed from this run's join times, not measured; ${renewals.length} if all joined at once`, f(m.peakUnjittered / info.capacity.perS, 2)],
      ['spread of planned renewals after issue, p1–p99', `${f(m.spreadS)} s`, `${f(theory)} s, computed, not measured (uniform ±${JITTER * 100} % of ${LIFETIME_S} s, p1–p99)`, f(m.spreadS / theory, 2)],
      ['spread of completions in wall time, p1–p99', `${f(m.wallSpreadS)} s`, `joins spread over ${f(info.enrollSpanS)} s`, ''],
      ['renew latency p50 / p99 / max (TLS handshake + CSR verify + sign + store)', `${f(percentile(lat, 50))} / ${f(percentile(lat, 99))} / ${f(lat.at(-1) ?? NaN)} ms`, '', ''],
      ['broker main thread runnable without a CPU / machine under CPU pressure (share of the window)', `${f(m.brokerWaitShare * 100)} % / ${f(m.pressureShare * 100)} %`, '0 % on an idle machine (not measured)', ''],
    ],
    notes: [
      `Broker: \`plexus broker start --cluster-cert-lifetime ${LIFETIME_S}s\` in its own process; agents renew at ${f(FRACTION * LIFETIME_S)} s ± ${f(JITTER * LIFETIME_S)} s after issue. CPU from /proc/<pid>/stat (utime+stime, ${clockTicksPerSecond} ticks/s) every ${CPU_SAMPLE_MS} ms.`,
      `Agents: ${renewals.length} clusters enrolled with admin-API tokens and real CSRs (${f(info.enrollS)} s; join keys made beforehand, ${f(info.prepS)} s). Each then runs the agent's CertificateRotator over a LiveIdentity and a BrokerClient that follows it, in this process, until its first renewal (fresh P-256 key and CSR, POST /v1/renew over mTLS, retry 0.5 s doubling to 10 s); then one POST /v1/lease with the new certificate proves it.`,
      `Renewals over time (10 s buckets from the first planned renewal): ${histogram(m.done.map((r) => r.doneAt - m.t0), 10_000)}`,
      `Renewal window ${f(m.wallS)} s (first planned renewal to last completion); all clients share the 2 cores with the broker (and with other work: see load). Waiting for a CPU from /proc/<pid>/schedstat, pressure from /proc/pressure/cpu ("some"); this process's event-loop delay p99 ${f(info.loopP99Ms)} ms, max ${f(info.loopMaxMs)} ms.`,
      `Failed calls by code: ${m.errors}.`,
    ],
  };
  // Development runs with fewer agents print their figures without recording them.
  if (renewals.length >= 1000) recordBenchmark(run);
  else process.stdout.write(formatRun(run));
  for (const r of renewals.filter((x) => x.firstError).slice(0, 5)) console.error(`failure: ${r.firstError}`);
  return m.failedAttempts > 0 || m.notRenewed > 0 || m.late > 0 || m.unverified > 0 || info.capacity.failures > 0;
}

await main();
