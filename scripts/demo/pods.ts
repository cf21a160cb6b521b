// Real pods for the demo: small HTTP servers that say which pod and cluster answered, and
// dig run inside a lab-tools client pod (test/harness/lab-pod.ts).
// The lab has no registry: every image is local (`imagePullPolicy: Never`).
import type { Cluster } from '../../test/harness/index.ts';
import { LAB_TOOLS_IMAGE, type LabPod } from '../../test/harness/lab-pod.ts';
import { parseDig, type DigResult } from '../../test/e2e/support/dig.ts';

/** kubectl as the cluster admin; a non-zero exit throws with kubectl's own message. */
export async function kubectlOk(c: Cluster, args: string[], input?: string): Promise<string> {
  const r = await c.kubectl(args, { input, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`kubectl ${args.slice(0, 3).join(' ')} in ${c.name}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function apply(c: Cluster, objects: object[]): Promise<void> {
  await kubectlOk(c, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
}

/**
 * A Deployment of busybox httpd pods answering `<pod> in <cluster>` on port 8080, with
 * a readiness probe, so only serving pods become ready endpoints.
 */
export function echoDeployment(ns: string, app: string, cluster: string, replicas: number): object {
  const script = `mkdir -p /tmp/www && echo "$(hostname) in ${cluster}" > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www`;
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: app, namespace: ns },
    spec: {
      replicas, selector: { matchLabels: { app } },
      template: {
        metadata: { labels: { app } },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [{
            name: 'http', image: LAB_TOOLS_IMAGE, imagePullPolicy: 'Never', command: ['sh', '-c', script],
            ports: [{ name: 'http', containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          }],
        },
      },
    },
  };
}

/** A Service `name` selecting pods `app=<app>` (default: its own name), port `http` 80 → 8080; headless with `headless`. */
export function appService(ns: string, name: string, o: { app?: string; headless?: boolean } = {}): object {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns },
    spec: { selector: { app: o.app ?? name }, ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'http' }], ...(o.headless ? { clusterIP: 'None' } : {}) },
  };
}

/** Waits until the Deployment has all its replicas available. */
export async function rolledOut(c: Cluster, ns: string, name: string): Promise<void> {
  await kubectlOk(c, ['rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=120s']);
}

/** `dig` inside the pod (its resolv.conf: the cluster's CoreDNS, unless `@server` is given). */
export async function digIn(pod: LabPod, args: string[]): Promise<DigResult> {
  const r = await pod.exec(['dig', '+time=2', '+tries=1', ...args], { timeoutMs: 30_000 });
  // 9: no answer within the timeout (parsed as status NONE, so callers polling go on).
  if (r.code !== 0 && r.code !== 9) throw new Error(`dig ${args.join(' ')} in ${pod.cluster.name}/${pod.name} (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
  return parseDig(r.stdout);
}

/** The A records of `name` as seen from the pod. */
export async function aRecordsIn(pod: LabPod, name: string, server?: string): Promise<string[]> {
  const r = await digIn(pod, [...(server ? [`@${server}`] : []), name, 'A']);
  return r.answers.filter((a) => a[3] === 'A').map((a) => a[4]!);
}
