// The configuration files of one lab node, rendered as text: containerd, the CNI bridge
// network, the kubelet and kube-proxy. Pure: unit-tested. Every path lives below the
// node's own dir, so two labs (and two nodes) on one host never share state, and every
// mount the node makes is below that dir (lab-host.sh unmounts by prefix).
import path from 'node:path';

export interface NodeConfigInput {
  readonly nodeName: string;
  readonly dir: string;                // the node's dir in the lab's temp dir
  readonly nodeIp: string;
  readonly podCidr: string;
  readonly podGateway: string;
  readonly serviceCidr: string;
  readonly clusterDns: string;         // the kube-dns ClusterIP
  readonly cgroupRoot: string;         // e.g. /plx0-1: the kubelet puts every pod below it
  readonly cniNetwork: string;         // network name, unique on the host (CNI caches by it)
  readonly sandboxImage: string;
  readonly cniBinDir: string;
}

export interface NodePaths {
  readonly containerdConfig: string;
  readonly containerdSocket: string;
  readonly cniConfDir: string;
  readonly kubeletConfig: string;
  readonly kubeletRoot: string;
  readonly kubeletCertDir: string;
  /** The kubelet's podLogsDir: its own, not the host's /var/log/pods (see kubeletYaml). */
  readonly podLogsDir: string;
  readonly kubeProxyConfig: string;
  readonly resolvConf: string;
}

export function nodePaths(dir: string): NodePaths {
  return {
    containerdConfig: path.join(dir, 'containerd.toml'),
    containerdSocket: path.join(dir, 'containerd', 'containerd.sock'),
    cniConfDir: path.join(dir, 'cni', 'net.d'),
    kubeletConfig: path.join(dir, 'kubelet.yaml'),
    kubeletRoot: path.join(dir, 'kubelet'),
    kubeletCertDir: path.join(dir, 'kubelet-pki'),
    podLogsDir: path.join(dir, 'pod-logs'),
    kubeProxyConfig: path.join(dir, 'kube-proxy.yaml'),
    resolvConf: path.join(dir, 'resolv.conf'),
  };
}

export function containerdToml(o: NodeConfigInput): string {
  const p = nodePaths(o.dir);
  const c = path.join(o.dir, 'containerd');
  return `version = 2
root = "${c}/root"
state = "${c}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${p.containerdSocket}"

[plugins."io.containerd.internal.v1.opt"]
  path = "${c}/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${o.sandboxImage}"
  # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj ("can't get final
  # child's PID from pipe: EOF") unless containerd keeps it at or above its own.
  restrict_oom_score_adj = true
  # Pod network namespaces under the state dir, not /var/run/netns: the host's
  # \`ip netns list\` stays the lab's own, and the undo unmounts them by prefix.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${c}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${o.cniBinDir}"
    conf_dir = "${p.cniConfDir}"
`;
}

/** A bridge network with host-local IPAM and no masquerade: pod IPs cross clusters as they are. */
export function cniConflist(o: NodeConfigInput): string {
  return JSON.stringify({
    cniVersion: '0.4.0',
    name: o.cniNetwork,
    plugins: [
      {
        type: 'bridge', bridge: 'cni0', isGateway: true, ipMasq: false, hairpinMode: true,
        ipam: {
          type: 'host-local', dataDir: path.join(o.dir, 'cni', 'ipam'),
          ranges: [[{ subnet: o.podCidr, gateway: o.podGateway }]], routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  }, null, 2);
}

export function kubeletYaml(o: NodeConfigInput, caFile: string): string {
  const p = nodePaths(o.dir);
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${o.nodeIp}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${caFile}}
authorization: {mode: Webhook}
cgroupDriver: cgroupfs
cgroupRoot: ${o.cgroupRoot}
cgroupsPerQOS: true
clusterDNS: [${o.clusterDns}]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix://${p.containerdSocket}
resolvConf: ${p.resolvConf}
# Not the default /var/log/pods: every kubelet's container GC deletes the log dirs of pods
# it does not know, so kubelets sharing that dir (two clusters, or two labs) erased each
# other's container logs within a minute and \`kubectl logs\` came back empty.
podLogsDir: ${p.podLogsDir}
failSwapOn: false
failCgroupV1: false
rotateCertificates: false
serializeImagePulls: false
# The host's disk and memory are shared with everything else on it: never evict the lab's
# pods or collect its (locally built, unpullable) images over what others use.
evictionHard: {memory.available: "1Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
nodeStatusReportFrequency: 10s
`;
}

export function kubeProxyYaml(o: NodeConfigInput, kubeconfig: string): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${kubeconfig}}
hostnameOverride: ${o.nodeName}
bindAddress: ${o.nodeIp}
clusterCIDR: ${o.podCidr}
mode: iptables
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# conntrack limits are host-wide, not per network namespace: leave them as they are.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
`;
}
