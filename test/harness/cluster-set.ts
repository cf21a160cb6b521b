// The handle for everything one startClusters() call started: the clusters, their shared
// etcd, the temp dir and the reaper. stop() leaves no process, port or file behind.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Cluster } from './cluster.ts';
import type { Component } from './component.ts';
import { HarnessError } from './errors.ts';
import type { NodeLab } from './node-lab.ts';
import type { Reaper } from './reaper.ts';

export interface ClusterSetParts {
  readonly dir: string;
  readonly logsDir: string;
  readonly etcd: Component;
  readonly etcdEndpoint: string;
  readonly etcdPorts: readonly number[];
  readonly clusters: readonly Cluster[];
  readonly apiServers: readonly Component[];
  readonly reaper: Reaper;
  readonly unregisterExitHook: () => void;
  /** Set when the clusters have real nodes. */
  readonly lab?: NodeLab;
}

/** What a set holds on the machine; teardown tests check that none of it remains. */
export interface SetResources {
  readonly dir: string;
  readonly pids: readonly number[];      // watchdogs, components, reaper
  readonly ports: readonly number[];
}

export interface StopOptions {
  /** Copy the component logs here after the processes have exited (e.g. for a failed test). */
  readonly saveLogsTo?: string;
}

export class ClusterSet {
  readonly clusters: readonly Cluster[];
  readonly dir: string;
  readonly logsDir: string;
  readonly etcdEndpoint: string;
  readonly #parts: ClusterSetParts;
  #stopping: Promise<void> | undefined;

  constructor(parts: ClusterSetParts) {
    this.#parts = parts;
    this.clusters = parts.clusters;
    this.dir = parts.dir;
    this.logsDir = parts.logsDir;
    this.etcdEndpoint = parts.etcdEndpoint;
  }

  get stopped(): boolean { return this.#stopping !== undefined; }

  /** A cluster by name or by 0-based index. */
  cluster(which: string | number): Cluster {
    const c = typeof which === 'number' ? this.clusters[which] : this.clusters.find((x) => x.name === which);
    if (!c) throw new HarnessError('PLX_HARNESS_BAD_OPTION', `no cluster ${String(which)} in this set`);
    return c;
  }

  components(): Component[] {
    return [...(this.#parts.lab?.components() ?? []), this.#parts.etcd, ...this.#parts.apiServers];
  }

  /** The real-node lab, when started with `nodes` (addresses, slot, images). */
  get lab(): NodeLab | undefined { return this.#parts.lab; }

  resources(): SetResources {
    const pids: number[] = [];
    for (const c of this.components()) {
      for (const pid of [c.watchdogPid, c.pid()]) if (pid !== undefined) pids.push(pid);
    }
    if (this.#parts.reaper.pid !== undefined) pids.push(this.#parts.reaper.pid);
    return { dir: this.dir, pids, ports: [...this.#parts.etcdPorts, ...this.clusters.map((c) => c.port)] };
  }

  /** Peak RSS of each running component (Linux), for benchmarks. */
  peakRss(): { component: string; bytes: number }[] {
    return this.components().flatMap((c) => {
      const bytes = c.peakRssBytes();
      return bytes === undefined ? [] : [{ component: c.name, bytes }];
    });
  }

  /** Copies the component logs into `dest` (created if needed) and returns it. */
  saveLogs(dest: string): string {
    mkdirSync(dest, { recursive: true });
    if (existsSync(this.logsDir)) cpSync(this.logsDir, dest, { recursive: true });
    return dest;
  }

  /** Stops the kube-apiservers, then etcd, then removes the temp dir. Idempotent. */
  stop(o: StopOptions = {}): Promise<void> {
    this.#stopping ??= this.#stop(o);
    return this.#stopping;
  }

  async #stop(o: StopOptions): Promise<void> {
    try {
      await this.#parts.lab?.stopNodes();
      await Promise.all(this.#parts.apiServers.map((c) => c.stop()));
      await this.#parts.etcd.stop();
      if (o.saveLogsTo) this.saveLogs(o.saveLogsTo);
    } finally {
      for (const c of this.components()) c.killNow();
      this.#parts.reaper.dismiss();
      await this.#parts.reaper.exited();
      this.#parts.lab?.release();        // containers, mounts, namespaces, cgroups, host settings
      rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
      this.#parts.unregisterExitHook();
    }
  }

  /** Synchronous last-resort cleanup for process exit: SIGKILL everything, remove the dir. */
  killNow(): void {
    for (const c of this.components()) c.killNow();
    this.#parts.reaper.dismiss();
    this.#parts.lab?.killNow();
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}
