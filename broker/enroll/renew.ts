// POST /v1/renew: an active cluster, authenticated by its current certificate, trades a
// CSR for a fresh certificate of the same identity. The membership epoch read at
// authentication is re-checked when the new serial is recorded, so a removal that lands
// while the certificate is being issued wins.
import type { IdentityResponse, RenewRequest } from '../api/types.ts';
import { formatIdentity } from '../../certs/identity.ts';
import { BrokerError } from '../errors.ts';
import type { EnrollDeps } from './join.ts';

export interface RenewingCluster {
  readonly clusterId: string;
  readonly epoch: number;
}

export async function renew(deps: EnrollDeps, caller: RenewingCluster, req: RenewRequest): Promise<IdentityResponse> {
  const { store, issuer, clock } = deps;
  const csr = await issuer.readClusterCsr(req.csr, caller.clusterId);
  const now = clock.now();
  const issued = await issuer.issue(csr, caller.clusterId, now);
  const recorded = await store.recordRenewal({ clusterId: caller.clusterId, epoch: caller.epoch, certificate: issued, now });
  if (!recorded) throw new BrokerError('PLX_BROKER_CLUSTER_REVOKED', `cluster "${caller.clusterId}" is no longer a member`);
  return {
    clusterId: caller.clusterId,
    identity: formatIdentity(issued.identity),
    certificate: issued.certPem,
    trustBundle: deps.trustBundlePem(),
    notAfter: issued.notAfter.toISOString(),
  };
}
