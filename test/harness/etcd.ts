// The one etcd a cluster set shares: loopback only, no fsync (test data is disposable).
// Each kube-apiserver keeps its objects under its own --etcd-prefix.
import path from 'node:path';
import { Component } from './component.ts';
import { waitFor } from './wait-for.ts';

export interface EtcdOptions {
  readonly binary: string;
  readonly dataDir: string;
  readonly logsDir: string;
  readonly runDir: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly startTimeoutMs: number;
  /** Client address; default 127.0.0.1 (the lab's host address when API servers run in namespaces). */
  readonly host?: string;
}

export interface Etcd {
  readonly component: Component;
  readonly endpoint: string;          // http://127.0.0.1:<clientPort>
}

export async function startEtcd(o: EtcdOptions): Promise<Etcd> {
  const endpoint = `http://${o.host ?? '127.0.0.1'}:${o.clientPort}`;
  const peer = `http://127.0.0.1:${o.peerPort}`;
  const component = new Component({
    name: 'etcd',
    command: o.binary,
    args: [
      '--name=plexus-harness',
      `--data-dir=${o.dataDir}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=plexus-harness=${peer}`,
      '--unsafe-no-fsync=true',
      '--log-level=warn',
    ],
    logFile: path.join(o.logsDir, 'etcd.log'),
    pidFile: path.join(o.runDir, 'etcd.pid'),
  });
  component.start();
  try {
    await waitForHealth(endpoint, component, o.startTimeoutMs);
  } catch (err) {
    await component.stop();
    throw err;
  }
  return { component, endpoint };
}

async function waitForHealth(endpoint: string, component: Component, timeoutMs: number): Promise<void> {
  await waitFor(async () => {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true' ? true : undefined;
  }, {
    what: 'etcd to report healthy',
    timeoutMs,
    failFast: () => component.notRunningError(),
  });
}
