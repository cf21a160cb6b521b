// Probes every other cluster's probe endpoint every `intervalMs`, each probe bounded by
// `timeoutMs`, and keeps per cluster: a smoothed RTT (EWMA) and a health state. A cluster
// turns `down` after `failureThreshold` failures in a row and `up` again on the first
// success; `unknown` until the first result. With the defaults (1 s, 1 s, 2) a dead or cut
// off cluster is down within about 3 s. Time and timers are injected; the probe itself is
// a seam (httpsProbe in production).
import type { Logger } from 'pino';
import { AgentError } from '../errors.ts';
import type { Timers } from '../timing/clock.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { Ewma } from './ewma.ts';
import type { ProbeFn, ProbeTarget } from './probe-client.ts';

export type ProbeState = 'unknown' | 'up' | 'down';

export interface ProberOptions {
  readonly probe: ProbeFn;
  readonly timers: Timers;
  /** Monotonic milliseconds (performance.now in production). */
  readonly now: () => number;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly ewmaAlpha: number;
  /** Smoothed RTT and health per peer. */
  readonly metrics?: Pick<AgentMetrics, 'probeRtt' | 'peerHealthy'> | undefined;
}

interface Peer {
  target: ProbeTarget;
  state: ProbeState;
  failures: number;
  rtt: Ewma;
  inFlight: boolean;
}

export type ProbeListener = (cluster: string) => void;

export class Prober {
  readonly #o: ProberOptions;
  readonly #peers = new Map<string, Peer>();
  readonly #listeners = new Set<ProbeListener>();
  #handle: unknown;
  #running = false;

  constructor(o: ProberOptions) {
    this.#o = o;
  }

  /** Replaces the set of clusters to probe; a changed URL starts that cluster afresh. */
  setTargets(targets: readonly ProbeTarget[]): void {
    const wanted = new Map(targets.map((t) => [t.cluster, t]));
    for (const [cluster, peer] of this.#peers) {
      const next = wanted.get(cluster);
      if (!next || next.url !== peer.target.url) {
        this.#peers.delete(cluster);
        this.#o.metrics?.probeRtt.remove(cluster);
        this.#o.metrics?.peerHealthy.remove(cluster);
        if (peer.state !== 'unknown') this.#emit(cluster);
      }
    }
    for (const [cluster, target] of wanted) {
      if (!this.#peers.has(cluster)) this.#peers.set(cluster, { target, state: 'unknown', failures: 0, rtt: new Ewma({ alpha: this.#o.ewmaAlpha }), inFlight: false });
    }
  }

  state(cluster: string): ProbeState {
    return this.#peers.get(cluster)?.state ?? 'unknown';
  }

  /** Smoothed RTT in ms while the cluster is up; undefined otherwise. */
  latencyMs(cluster: string): number | undefined {
    const p = this.#peers.get(cluster);
    return p?.state === 'up' ? p.rtt.value : undefined;
  }

  /** Smoothed RTTs of every cluster that is up (the advertisement's latency row). */
  latencies(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [cluster, p] of [...this.#peers].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (p.state === 'up' && p.rtt.value !== undefined) out[cluster] = p.rtt.value;
    }
    return out;
  }

  /** Called after every probe result that changed a state or an RTT. */
  onChange(listener: ProbeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const loop = () => {
      if (!this.#running) return;
      void this.probeAll();
      this.#handle = this.#o.timers.setTimeout(loop, this.#o.intervalMs);
    };
    loop();
  }

  stop(): void {
    this.#running = false;
    if (this.#handle !== undefined) this.#o.timers.clearTimeout(this.#handle);
  }

  /** One round: every peer not already being probed (a test seam as well). */
  probeAll(): Promise<void> {
    return Promise.all([...this.#peers.values()].filter((p) => !p.inFlight).map((p) => this.#probeOne(p))).then(() => undefined);
  }

  async #probeOne(peer: Peer): Promise<void> {
    peer.inFlight = true;
    const ac = new AbortController();
    const timer = this.#o.timers.setTimeout(() => ac.abort(new AgentError('PLX_AGENT_PROBE_TIMEOUT', `no answer within ${this.#o.timeoutMs} ms`)), this.#o.timeoutMs);
    const started = this.#o.now();
    try {
      await this.#o.probe(peer.target, ac.signal);
      this.#record(peer, this.#o.now() - started);
    } catch (err) {
      this.#record(peer, undefined, err);
    } finally {
      this.#o.timers.clearTimeout(timer);
      peer.inFlight = false;
    }
  }

  #record(peer: Peer, rttMs: number | undefined, err?: unknown): void {
    // A result for a target that was replaced meanwhile is stale.
    if (this.#peers.get(peer.target.cluster) !== peer) return;
    const cluster = peer.target.cluster;
    if (rttMs !== undefined) {
      peer.failures = 0;
      peer.rtt.add(rttMs);
      if (peer.state !== 'up') this.#o.logger.info({ peer: cluster, rttMs: Math.round(rttMs * 10) / 10 }, 'probe peer up');
      peer.state = 'up';
      this.#o.metrics?.peerHealthy.set({ peer: cluster }, 1);
      if (peer.rtt.value !== undefined) this.#o.metrics?.probeRtt.set({ peer: cluster }, peer.rtt.value / 1000);
      this.#emit(cluster);
      return;
    }
    peer.failures++;
    if (peer.state !== 'down' && peer.failures >= this.#o.failureThreshold) {
      peer.state = 'down';
      peer.rtt.reset();
      this.#o.metrics?.peerHealthy.set({ peer: cluster }, 0);
      this.#o.metrics?.probeRtt.remove(cluster);
      this.#o.logger.warn({ peer: cluster, failures: peer.failures, err: (err as Error | undefined)?.message }, 'probe peer down');
      this.#emit(cluster);
    }
  }

  #emit(cluster: string): void {
    for (const l of this.#listeners) l(cluster);
  }
}
