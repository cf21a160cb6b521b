// HTTPS client for the broker API (undici). Every response is parsed with the wire
// contract's schema, and every failure becomes an AgentError: the broker's own error
// code is kept, transport failures are PLX_AGENT_BROKER_UNREACHABLE.
import { Agent } from 'undici';
import type { Dispatcher } from 'undici';
import type { z } from 'zod';
import { checkHttpsUrl } from '../../broker/api/addresses.ts';
import { callBroker } from '../../broker/api/call.ts';
import {
  identityResponseSchema, paths, trustBundleResponseSchema,
  type IdentityResponse, type JoinRequest, type RenewRequest, type TrustBundleResponse,
} from '../../broker/api/types.ts';
import {
  catalogPaths, exportListResponseSchema, exportSyncResponseSchema, exportWriteResponseSchema, leaseResponseSchema,
  type ExportSpecInput, type ExportSyncRequest, type ExportWriteResponse, type LeaseResponse,
} from '../../broker/api/catalog.ts';
import {
  rbacClusterBaselineSchema, rbacPaths, rbacStatusAckSchema, type RbacClusterBaseline, type RbacStatusReport,
} from '../../broker/api/rbac.ts';
import {
  advertisementListSchema, advertisementPaths, clusterAdvertisementSchema,
  type AdvertisementList, type ClusterAdvertisement, type ClusterAdvertisementInput,
} from '../../broker/api/advertisement.ts';
import type { LeaseReport } from '../../broker/api/fleet.ts';
import { caPaths, trustBundleAckResponseSchema, type TrustBundleAckResponse } from '../../broker/api/ca.ts';
import { revokedUserListSchema, userPaths, type RevokedUserList } from '../../broker/api/users.ts';
import { AgentError } from '../errors.ts';
import { RotatingDispatcher, type ClientTls } from './rotating-dispatcher.ts';

export type ExportSyncResponse = z.infer<typeof exportSyncResponseSchema>;
export type ExportListResponse = z.infer<typeof exportListResponseSchema>;

export interface BrokerClientOptions {
  /** e.g. https://broker.example:7443 */
  baseUrl: string;
  /** PEM roots to verify the broker with. Omit only for the pinned bootstrap fetch. */
  trustBundle?: string;
  /** Client identity for mTLS endpoints. */
  clientCert?: { certPem: string; keyPem: string };
  timeoutMs?: number;
}

export class BrokerClient {
  readonly baseUrl: URL;
  /** With a cluster identity: swapped on rotation (useIdentity). */
  readonly #identity: RotatingDispatcher | undefined;
  /** Without one (join and its pinned bootstrap fetch). */
  readonly #anonymous: Agent | undefined;
  private readonly timeoutMs: number;

  constructor(opts: BrokerClientOptions) {
    this.baseUrl = parseBrokerUrl(opts.baseUrl);
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    if (opts.clientCert && opts.trustBundle) {
      this.#identity = new RotatingDispatcher({ ...opts.clientCert, trustBundle: opts.trustBundle });
    } else {
      this.#anonymous = new Agent({
        connect: {
          minVersion: 'TLSv1.3',
          ...(opts.trustBundle ? { ca: opts.trustBundle, rejectUnauthorized: true } : { rejectUnauthorized: false }),
          ...(opts.clientCert ? { cert: opts.clientCert.certPem, key: opts.clientCert.keyPem } : {}),
        },
      });
    }
  }

  private get dispatcher(): Dispatcher {
    return this.#identity?.current ?? this.#anonymous!;
  }

  /**
   * After a renewal or a trust-bundle change: new requests present `tls`; requests in
   * flight finish on their connections. Only for a client made with an identity.
   */
  useIdentity(tls: ClientTls): void {
    if (!this.#identity) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'this broker client was made without a cluster identity');
    this.#identity.use(tls);
  }

  /** Unauthenticated; callers must check the result against a pinned fingerprint. */
  trustBundle(): Promise<TrustBundleResponse> {
    return this.call('GET', paths.trustBundle, undefined, trustBundleResponseSchema);
  }

  join(body: JoinRequest): Promise<IdentityResponse> {
    return this.call('POST', paths.join, body, identityResponseSchema);
  }

  renew(body: RenewRequest): Promise<IdentityResponse> {
    return this.call('POST', paths.renew, body, identityResponseSchema);
  }

  /**
   * Heartbeat: keeps this cluster's endpoints in the catalog (mTLS identity required); `report` feeds the fleet views.
   * `signal` ends the call early (the heartbeat's own deadline) as PLX_AGENT_BROKER_UNREACHABLE.
   */
  renewLease(o: { report?: LeaseReport; signal?: AbortSignal } = {}): Promise<LeaseResponse> {
    return this.call('POST', catalogPaths.lease, o.report ? { report: o.report } : {}, leaseResponseSchema, o.signal);
  }

  /** Upserts one of this cluster's exports; the response carries the merged service. */
  putExport(spec: ExportSpecInput): Promise<ExportWriteResponse> {
    return this.call('PUT', catalogPaths.export(spec.namespace, spec.name), spec, exportWriteResponseSchema);
  }

  /** Withdraws one export; withdrawing one that is not there succeeds. */
  deleteExport(namespace: string, name: string): Promise<ExportWriteResponse> {
    return this.call('DELETE', catalogPaths.export(namespace, name), undefined, exportWriteResponseSchema);
  }

  /** Replaces this cluster's whole export set in one transaction. */
  syncExports(body: ExportSyncRequest): Promise<ExportSyncResponse> {
    return this.call('PUT', catalogPaths.exports, body, exportSyncResponseSchema);
  }

  listExports(): Promise<ExportListResponse> {
    return this.call('GET', catalogPaths.exports, undefined, exportListResponseSchema);
  }

  /** The RBAC baseline objects targeted at this cluster (agent/rbac/). */
  rbacBaseline(): Promise<RbacClusterBaseline> {
    return this.call('GET', rbacPaths.baseline, undefined, rbacClusterBaselineSchema);
  }

  /** This cluster's RBAC compliance: applied revision, applied objects, clashes, drift, errors. */
  async putRbacStatus(report: RbacStatusReport): Promise<void> {
    await this.call('PUT', rbacPaths.status, report, rbacStatusAckSchema);
  }

  /** Publishes this cluster's advertisement (zone, region, probe URL, measured RTTs). */
  putAdvertisement(body: ClusterAdvertisementInput): Promise<ClusterAdvertisement> {
    return this.call('PUT', advertisementPaths.advertisement, body, clusterAdvertisementSchema);
  }

  listAdvertisements(): Promise<AdvertisementList> {
    return this.call('GET', advertisementPaths.advertisements, undefined, advertisementListSchema);
  }

  /** Acknowledges the roots this agent trusts; the answer is the broker's bundle (agent/identity/trust-bundle-refresher.ts). */
  ackTrustBundle(fingerprints: string[]): Promise<TrustBundleAckResponse> {
    return this.call('POST', caPaths.trustBundleAck, { fingerprints }, trustBundleAckResponseSchema);
  }

  /** The people the access proxy refuses (agent/proxy/revocation-feed.ts). */
  revokedUsers(): Promise<RevokedUserList> {
    return this.call('GET', userPaths.revoked, undefined, revokedUserListSchema);
  }

  close(): Promise<void> {
    return this.#identity ? this.#identity.close() : this.#anonymous!.close();
  }

  private async call<S extends z.ZodType>(method: Dispatcher.HttpMethod, path: string, body: unknown, schema: S, signal?: AbortSignal): Promise<z.infer<S>> {
    const r = await callBroker({ baseUrl: this.baseUrl, dispatcher: this.dispatcher, timeoutMs: this.timeoutMs }, method, path, body, schema, signal);
    if (r.ok) return r.data;
    if (r.kind === 'unreachable') throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', r.message, { cause: r.cause });
    if (r.kind === 'protocol') throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', r.message);
    const pathname = new URL(path, this.baseUrl).pathname;
    throw new AgentError('PLX_AGENT_BROKER_REJECTED', `broker refused ${pathname}: ${r.code ? `[${r.code}] ` : ''}${r.message}`, {
      status: r.status, ...(r.code ? { brokerCode: r.code } : {}),
    });
  }
}

function parseBrokerUrl(raw: string): URL {
  const checked = checkHttpsUrl('broker URL', raw);
  if (!checked.ok) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', checked.message);
  return checked.url;
}
