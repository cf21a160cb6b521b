// The cluster DNS of a real-node lab cluster: CoreDNS as a Deployment in kube-system behind
// the kube-dns Service, configured by the kube-system/coredns ConfigMap (key Corefile) as
// kubeadm lays it out, so `plexus agent dns patch-coredns` finds what it finds on a real
// cluster. No `forward`: nothing upstream is reachable from the lab.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Cluster } from './cluster.ts';
import { HarnessError } from './errors.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

export interface ClusterDnsOptions {
  readonly image: string;
  readonly clusterIp: string;          // the kubelet's clusterDNS
  readonly timeoutMs: number;
}

export const COREFILE = `.:53 {
    errors
    health {
        lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    loop
    reload 2s
    loadbalance
}
`;

export function clusterDnsManifest(o: ClusterDnsOptions): string {
  const corefile = COREFILE.split('\n').map((l) => `    ${l}`).join('\n');
  return `apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: 'system:coredns'}
rules:
- apiGroups: ['']
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: 'system:coredns'}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: 'system:coredns'}
subjects: [{kind: ServiceAccount, name: coredns, namespace: kube-system}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns, namespace: kube-system}
data:
  Corefile: |
${corefile}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      serviceAccountName: coredns
      dnsPolicy: Default
      securityContext:
        runAsUser: 65534
        runAsGroup: 65534
        runAsNonRoot: true
        # Port 53 without a capability: a namespaced sysctl the kubelet allows by default.
        sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: '53'}]
      containers:
      - name: coredns
        image: ${o.image}
        imagePullPolicy: Never
        args: [-conf, /etc/coredns/Corefile]
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
        securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: [ALL]}}
        readinessProbe: {httpGet: {path: /ready, port: 8181}, periodSeconds: 1}
        livenessProbe: {httpGet: {path: /health, port: 8080}, periodSeconds: 10, failureThreshold: 5}
        volumeMounts: [{name: config, mountPath: /etc/coredns, readOnly: true}]
      volumes: [{name: config, configMap: {name: coredns}}]
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  clusterIP: ${o.clusterIp}
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
`;
}

/** One A lookup through `server` from inside a network namespace; the answers, or undefined. */
async function digFrom(netns: string, server: string, name: string): Promise<string[] | undefined> {
  try {
    const { stdout } = await run('nsenter', [`--net=/run/netns/${netns}`, '--', 'dig', '+short', '+time=1', '+tries=1', `@${server}`, name, 'A'],
      { timeout: 5000 });
    const answers = stdout.split('\n').map((l) => l.trim()).filter((l) => /^\d+\.\d+\.\d+\.\d+$/.test(l));
    return answers.length ? answers : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Applies CoreDNS, then waits until the node itself gets `kubernetes.default` answered
 * through the kube-dns ClusterIP: that needs the pod Ready AND kube-proxy's rules for the
 * Service, which land a moment after the pod (a fixed wait was not enough).
 */
export async function installClusterDns(cluster: Cluster, o: ClusterDnsOptions & { netns: string; kubernetesIp: string }): Promise<void> {
  const applied = await cluster.kubectl(['apply', '-f', '-'], { input: clusterDnsManifest(o) });
  if (applied.code !== 0) throw new HarnessError('PLX_HARNESS_KUBECTL_FAILED', `installing CoreDNS in ${cluster.name}: ${applied.stderr.trim()}`);
  await waitFor(async () => {
    const answers = await digFrom(o.netns, o.clusterIp, 'kubernetes.default.svc.cluster.local');
    return answers?.includes(o.kubernetesIp) ? true : undefined;
  }, { what: `CoreDNS answering through ${o.clusterIp} in ${cluster.name}`, timeoutMs: o.timeoutMs, intervalMs: 250 });
}
