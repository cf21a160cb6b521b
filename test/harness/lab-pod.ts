// A throwaway pod in a real-node lab cluster, from plexus.local/lab-tools (dash, curl,
// dig/nslookup, OpenBSD nc, busybox httpd): start it, wait until it runs, exec in it.
// Tests that need real traffic from inside a cluster (DNS through CoreDNS, Services through
// kube-proxy) use it as their client.
import type { Cluster, KubectlOptions, KubectlResult } from './cluster.ts';
import { HarnessError } from './errors.ts';
import { waitFor } from './wait-for.ts';

export const LAB_TOOLS_IMAGE = 'plexus.local/lab-tools:1';

export interface LabPodOptions {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** What the container runs; default keeps it alive for exec (`sleep 86400`). */
  readonly command?: readonly string[];
  readonly image?: string;
  /** Create the namespace when missing; default true. */
  readonly createNamespace?: boolean;
  readonly timeoutMs?: number;          // default 60 s
}

export class LabPod {
  readonly cluster: Cluster;
  readonly name: string;
  readonly namespace: string;

  constructor(cluster: Cluster, namespace: string, name: string) {
    this.cluster = cluster;
    this.namespace = namespace;
    this.name = name;
  }

  /** `kubectl exec` of `command` (argv, no shell); never throws on a non-zero exit. */
  exec(command: readonly string[], o?: KubectlOptions): Promise<KubectlResult> {
    return this.cluster.kubectl(['-n', this.namespace, 'exec', this.name, '--', ...command], o);
  }

  /** `sh -c script` in the pod; never throws on a non-zero exit. */
  sh(script: string, o?: KubectlOptions): Promise<KubectlResult> {
    return this.exec(['sh', '-c', script], o);
  }

  /** The pod's IP. */
  async ip(): Promise<string> {
    const r = await this.cluster.kubectl(['-n', this.namespace, 'get', 'pod', this.name, '-o', 'jsonpath={.status.podIP}']);
    return r.stdout.trim();
  }

  async delete(): Promise<void> {
    await this.cluster.kubectl(['-n', this.namespace, 'delete', 'pod', this.name, '--ignore-not-found', '--wait=false']);
  }
}

export function labPodManifest(o: LabPodOptions): string {
  const labels = { app: o.name, ...o.labels };
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [{
        name: 'tools', image: o.image ?? LAB_TOOLS_IMAGE, imagePullPolicy: 'Never',
        command: [...(o.command ?? ['sleep', '86400'])],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      }],
    },
  });
}

/** Creates the pod (and its namespace) and resolves once it is Running with its container ready. */
export async function runLabPod(cluster: Cluster, o: LabPodOptions): Promise<LabPod> {
  if (o.createNamespace ?? true) {
    const ns = await cluster.kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } }) });
    if (ns.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `namespace ${o.namespace} in ${cluster.name}: ${ns.stderr.trim()}`);
  }
  const r = await cluster.kubectl(['apply', '-f', '-'], { input: labPodManifest(o) });
  if (r.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `pod ${o.namespace}/${o.name} in ${cluster.name}: ${r.stderr.trim()}`);
  await waitFor(async () => {
    const s = await cluster.kubectl(['-n', o.namespace, 'get', 'pod', o.name, '-o', 'jsonpath={.status.phase} {.status.containerStatuses[0].ready}']);
    return s.stdout.trim() === 'Running true' ? true : undefined;
  }, { what: `pod ${o.namespace}/${o.name} running in ${cluster.name}`, timeoutMs: o.timeoutMs ?? 60_000, intervalMs: 250 });
  return new LabPod(cluster, o.namespace, o.name);
}
