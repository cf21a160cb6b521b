// Real pods for the real-node e2e suites: web servers that say which cluster served a
// request, client pods that log one line per request (so a failover can be read back to
// the millisecond, failed requests counted), and DNS queries run inside a pod, through the
// cluster's own CoreDNS. Images are the lab's (plexus.local/lab-tools:1, never pulled).
import type { Cluster } from '../../harness/cluster.ts';
import { type DigResult, parseDig } from './dig.ts';

export const LAB_TOOLS = 'plexus.local/lab-tools:1';

export async function kubectlOk(c: Cluster, args: string[], input?: string): Promise<string> {
  const r = await c.kubectl(args, { input, timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} in ${c.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function apply(c: Cluster, ...objects: object[]): Promise<void> {
  await kubectlOk(c, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/**
 * A Deployment of busybox httpd pods on :8080 answering `served-by <cluster> <pod>` and its
 * Service (port 80; clusterIP None for headless). The pods' readiness probe is the page.
 */
export function webServer(o: { cluster: string; ns: string; name: string; replicas: number; headless?: boolean; graceSeconds?: number }): object[] {
  const labels = { app: o.name };
  return [
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: o.name, namespace: o.ns },
      spec: {
        replicas: o.replicas, selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: o.graceSeconds ?? 2,
            containers: [{
              name: 'httpd', image: LAB_TOOLS, imagePullPolicy: 'Never',
              command: ['sh', '-c', `mkdir -p /tmp/www && echo "served-by ${o.cluster} $(hostname)" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`],
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
            }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { name: o.name, namespace: o.ns },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], ...(o.headless ? { clusterIP: 'None' } : {}) },
    },
  ];
}

/** A pod that sleeps, to run dig/curl in with kubectl exec. */
export function toolsPod(ns: string, name: string): object {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'tools', image: LAB_TOOLS, imagePullPolicy: 'Never', command: ['sleep', '86400'] }] },
  };
}

export async function waitPodsReady(c: Cluster, ns: string, selectorOrPods: string[], timeoutSeconds = 120): Promise<void> {
  await kubectlOk(c, ['wait', '-n', ns, '--for=condition=Ready', ...selectorOrPods, `--timeout=${timeoutSeconds}s`]);
}

/** Runs dig inside a pod (its resolv.conf: the cluster's CoreDNS). */
export async function podDig(c: Cluster, ns: string, pod: string, args: string[]): Promise<DigResult> {
  const r = await c.kubectl(['exec', '-n', ns, pod, '--', 'dig', '+time=2', '+tries=1', ...args], { timeoutMs: 30_000 });
  if (r.code !== 0 && !/status:/.test(r.stdout)) throw new Error(`dig ${args.join(' ')} in ${c.name}/${pod}: ${r.stderr.trim() || r.stdout.trim()}`);
  return parseDig(r.stdout);
}

/** Ready pod IPs of a Deployment's pods (by label app=<name>), sorted. */
export async function readyPodIps(c: Cluster, ns: string, app: string): Promise<string[]> {
  const pods = JSON.parse(await kubectlOk(c, ['get', 'pods', '-n', ns, '-l', `app=${app}`, '-o', 'json'])) as {
    items: { metadata: { deletionTimestamp?: string }; status: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
  };
  return pods.items.filter((p) => !p.metadata.deletionTimestamp && p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
    .map((p) => p.status.podIP!).sort();
}

export async function scale(c: Cluster, ns: string, deployment: string, replicas: number): Promise<void> {
  await kubectlOk(c, ['scale', '-n', ns, `deployment/${deployment}`, `--replicas=${replicas}`]);
}
