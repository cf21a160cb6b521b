// The real-node part of a cluster set (startClusters(n, { nodes: true })): the host slot and
// its journal, the network namespaces, one LabNode per cluster and its CoreDNS.
// start-clusters.ts asks it where etcd and each kube-apiserver listen, then hands it the
// running API servers to put nodes behind.
import path from 'node:path';
import type { NodeBinaries } from './binaries.ts';
import type { Cluster } from './cluster.ts';
import type { ClusterPki } from './cluster-pki.ts';
import type { Component } from './component.ts';
import { LabHost } from './lab-host.ts';
import { installClusterDns } from './lab-dns.ts';
import { planAddresses, setUpNetwork } from './lab-network.ts';
import type { LabAddressing, NodeAddressing, PodNetworkLayout } from './lab-network.ts';
import { LabNode, resolveLabImages } from './lab-node.ts';
import type { LabImages } from './lab-node.ts';

export interface NodeLabOptions {
  /**
   * Which pod network each cluster is on (lab-network.ts): 'routed' (default, one network:
   * distinct pod CIDRs routed to each other), 'isolated' (each cluster on its own: the same
   * pod CIDR everywhere, no pod routes between clusters), or one network name per cluster,
   * e.g. ['east', 'east', 'west'].
   */
  readonly podNetworks?: PodNetworkLayout;
  /** More docker-archive tars to import into every node, after the lab's own (e.g. the conformance suite's images). */
  readonly extraImages?: readonly string[];
}

/** What a test may want to know about a cluster's node. */
export interface NodeInfo {
  readonly name: string;
  readonly ip: string;
  readonly podCidr: string;
  /** The name of its pod network: clusters on different ones neither route to each other's pods nor have distinct pod CIDRs. */
  readonly podNetwork: string;
  readonly netns: string;
}

/** The `nth` address of an IPv4 CIDR (validated by startClusters' plan). */
export function nthIp(cidr: string, nth: number): string {
  const [addr, bits] = cidr.split('/');
  const n = addr!.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const ip = n - (n % 2 ** (32 - Number(bits))) + nth;
  return [24, 16, 8, 0].map((s) => Math.floor(ip / 2 ** s) % 256).join('.');
}

/** kube-dns's ClusterIP: the tenth address of the service CIDR, as kubeadm picks it. */
export function clusterDnsIp(serviceCidr: string): string {
  return nthIp(serviceCidr, 10);
}

export class NodeLab {
  readonly host: LabHost;
  readonly addressing: LabAddressing;
  readonly images: LabImages;
  readonly nodes: LabNode[] = [];
  readonly #bins: NodeBinaries;

  private constructor(host: LabHost, addressing: LabAddressing, bins: NodeBinaries, images: LabImages) {
    this.host = host;
    this.addressing = addressing;
    this.#bins = bins;
    this.images = images;
  }

  /** Claims a slot (undoing what crashed runs left) and builds the network; undone on failure. */
  static create(dir: string, clusters: number, bins: NodeBinaries, o: NodeLabOptions = {}): NodeLab {
    const images = resolveLabImages(bins.cacheRoot, bins.versions, o.extraImages);
    const layout = o.podNetworks ?? 'routed';
    planAddresses(0, clusters, layout);              // validate before touching the host
    const host = LabHost.claim(dir);
    try {
      const addressing = planAddresses(host.slot, clusters, layout);
      setUpNetwork(addressing, host);
      return new NodeLab(host, addressing, bins, images);
    } catch (err) {
      host.release();
      throw err;
    }
  }

  node(i: number): NodeAddressing { return this.addressing.nodes[i]!; }

  info(i: number, clusterName: string): NodeInfo {
    const a = this.node(i);
    return { name: `${clusterName}-node`, ip: a.nodeIp, podCidr: a.podCidr, podNetwork: a.podNetwork, netns: a.netns };
  }

  /** Starts a node behind each running API server, then CoreDNS in each cluster. */
  async startNodes(clusters: readonly Cluster[], pkis: readonly ClusterPki[], dirs: { dir: string; logsDir: string; runDir: string },
    o: { timeoutMs: number; lifetimeSeconds: number }): Promise<void> {
    await Promise.all(clusters.map(async (cluster, i) => {
      const node = new LabNode({
        clusterName: cluster.name, nodeName: this.info(i, cluster.name).name, dir: path.join(dirs.dir, 'nodes', cluster.name),
        logsDir: dirs.logsDir, runDir: dirs.runDir, addressing: this.node(i), serviceCidr: cluster.serviceCidr,
        clusterDns: clusterDnsIp(cluster.serviceCidr), apiServerUrl: cluster.server, pki: pkis[i]!, bins: this.#bins,
        images: this.images, host: this.host, lifetimeSeconds: o.lifetimeSeconds, startTimeoutMs: o.timeoutMs,
      });
      this.nodes.push(node);
      await node.start(cluster.kubeConfig);
      await installClusterDns(cluster, {
        image: this.images.coredns, clusterIp: clusterDnsIp(cluster.serviceCidr), timeoutMs: o.timeoutMs,
        netns: this.node(i).netns, kubernetesIp: nthIp(cluster.serviceCidr, 1),
      });
    }));
  }

  components(): Component[] {
    return this.nodes.flatMap((n) => n.components());
  }

  /**
   * Stops the node processes, then kills the pods they leave running: a pod's open watch
   * (CoreDNS's) otherwise keeps its kube-apiserver in graceful shutdown until it is
   * SIGKILLed 15 s later.
   */
  async stopNodes(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    this.host.killPods();
  }

  /** Synchronous: SIGKILL the node components, then undo the journal (containers, mounts, netns, …). */
  killNow(): void {
    for (const n of this.nodes) n.killNow();
    this.host.release();
  }

  release(): void {
    this.host.release();
  }
}
