// Membership of this cluster in the clusterset, from the cluster's side: at start the
// About API properties are written (refusing a changed cluster ID) and the broker lease
// heartbeat begins; leave() stops the heartbeat and removes `clusterset.k8s.io`.
import type { Logger } from 'pino';
import type { BackoffOptions } from '../../timing/backoff.ts';
import type { Clock, Timers } from '../../timing/clock.ts';
import type { KubeApi } from '../../kube/kube-api.ts';
import type { AgentMetrics } from '../../metrics/agent-metrics.ts';
import { removeClustersetProperty, writeClusterProperties } from './cluster-properties.ts';
import { LeaseHeartbeat, type LeaseClient } from './lease-heartbeat.ts';

export interface MembershipDeps {
  api: KubeApi;
  broker: LeaseClient;
  clusterId: string;
  clusterset: string;
  logger: Logger;
  timers: Timers;
  clock: Clock;
  /** Until the broker states its own; default 30 s. */
  leaseDurationMs?: number;
  leaseBackoff?: BackoffOptions;
  random?: () => number;
  metrics?: Pick<AgentMetrics, 'leaseRenewals'>;
}

export interface RunningMembership {
  readonly heartbeat: LeaseHeartbeat;
  /** Stops the heartbeat; membership (the ClusterProperties) stays. */
  stop(): Promise<void>;
  /** Stops the heartbeat and removes `clusterset.k8s.io`. */
  leave(): Promise<void>;
}

/** Throws PLX_AGENT_CLUSTER_ID_IMMUTABLE / PLX_AGENT_CLUSTERSET_MISMATCH before starting anything. */
export async function startMembership(d: MembershipDeps): Promise<RunningMembership> {
  const log = d.logger.child({ component: 'membership' });
  const { previousClusterId } = await writeClusterProperties(d.api, { clusterId: d.clusterId, clusterset: d.clusterset });
  if (previousClusterId) log.warn({ previousClusterId }, 'cluster ID changed while not a member');
  log.info({ clusterId: d.clusterId, clusterset: d.clusterset }, 'cluster properties written');
  const heartbeat = new LeaseHeartbeat({
    client: d.broker, logger: d.logger, timers: d.timers, clock: d.clock,
    leaseDurationMs: d.leaseDurationMs ?? 30_000,
    ...(d.leaseBackoff ? { backoff: d.leaseBackoff } : {}), ...(d.random ? { random: d.random } : {}),
    ...(d.metrics ? { metrics: d.metrics } : {}),
  });
  heartbeat.start();
  return {
    heartbeat,
    stop: () => heartbeat.stop(),
    async leave() {
      await heartbeat.stop();
      await leave(d.api);
      log.info('left the clusterset');
    },
  };
}

/** Removes `clusterset.k8s.io`; for `plexus agent leave` when no agent runs. */
export function leave(api: KubeApi): Promise<void> {
  return removeClustersetProperty(api);
}
