// Demo steps that deploy Plexus the way a user does: the broker as a pod, then each
// cluster enrolled by its agent's pod (apply -k deploy/agent with a one-time token).
import type { ClusterSet } from '../../test/harness/index.ts';

/** Runs an admin command (`plexus broker …`, `plexus status`) with the admin identity; returns stdout. */
export type Admin = (args: string[]) => Promise<string>;

export interface DemoMesh {
  readonly clusterset: string;
  /** The broker as this machine reaches it. */
  readonly brokerUrl: string;
  readonly admin: Admin;
  /** How the admin command reads when typed (for the output). */
  adminCommand(args: string[]): string;
  /** The directory holding admin.crt and admin.key. */
  readonly adminDir: string;
  /** ClusterIP of the agent's DNS Service in a cluster. */
  agentDns(cluster: string): string;
  /** Takes a cluster down: its agent and its kube-apiserver stop. */
  fail(cluster: string): Promise<void>;
}

export async function deployBroker(_clusters: ClusterSet, _work: string, _o: { leaseSeconds: number }): Promise<DemoMesh> {
  throw new Error('not built yet');
}

export async function enrollClusters(_clusters: ClusterSet, _mesh: DemoMesh): Promise<void> {
  throw new Error('not built yet');
}
