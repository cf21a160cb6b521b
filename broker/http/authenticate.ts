// mTLS authentication and authorization, applied by one onRequest hook to every route from
// the access table (route-access.ts). TLS itself accepts any client certificate (join has
// none), so the trust decision is made here on every request: the peer certificate must
// chain to the bundle at the injected clock's now, name this clusterset, and, for a
// cluster, be a certificate the store issued in the cluster's current membership epoch.
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { CertError } from '../../certs/errors.ts';
import type { Identity } from '../../certs/identity.ts';
import type { TrustBundle } from '../../certs/trust-bundle.ts';
import { verifyLeaf } from '../../certs/verify.ts';
import type { Clock } from '../clock.ts';
import { normalizeSerial } from '../enroll/cluster-issuer.ts';
import { BrokerError } from '../errors.ts';
import type { CertificateStore, ClusterStore } from '../enroll/enroll-store.ts';
import type { UserStore } from '../users/user-store.ts';
import { callerOf, routeKey, type Caller, type RouteAccess } from './route-access.ts';

export interface Principal {
  readonly identity: Identity;
  readonly serial: string;
  /** Membership epoch, for clusters. */
  readonly epoch?: number;
}

/** Returns the client certificate (PEM or DER) presented on the request's connection. */
export type PeerCertificateSource = (request: FastifyRequest) => string | Uint8Array | undefined;

/** What authentication reads on every request: membership, certificates, people. */
export interface AuthenticatorStore extends CertificateStore, Pick<ClusterStore, 'getCluster'> {
  readonly clusterset: string;
  readonly users: Pick<UserStore, 'get'>;
}

export interface AuthenticatorDeps {
  readonly store: AuthenticatorStore;
  readonly clock: Clock;
  readonly trustBundle: TrustBundle;
}

export const tlsPeerCertificate: PeerCertificateSource = (request) => {
  const socket = request.raw.socket as Partial<TLSSocket>;
  const peer = socket.getPeerCertificate?.(false);
  return peer?.raw && peer.raw.length > 0 ? peer.raw : undefined;
};

function toPem(cert: string | Uint8Array): string {
  if (typeof cert === 'string') return cert;
  const b64 = Buffer.from(cert).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

function certFailure(e: unknown): BrokerError {
  if (!(e instanceof CertError)) return new BrokerError('PLX_BROKER_CERT_UNTRUSTED', 'client certificate rejected', { cause: e });
  if (e.code === 'PLX_CERTS_EXPIRED') return new BrokerError('PLX_BROKER_CERT_EXPIRED', 'client certificate has expired', { cause: e });
  return new BrokerError('PLX_BROKER_CERT_UNTRUSTED', `client certificate rejected: ${e.message}`, { cause: e });
}

export interface AuthenticateOptions {
  /**
   * Accept a cluster's certificate up to this long after it expired, if it is the newest
   * one issued to the cluster in its current membership (POST /v1/renew only: an agent cut
   * off from the broker past its expiry renews when it is back). Default 0: never.
   */
  readonly expiredGraceMs?: number;
  /**
   * Refuse a cluster certificate once a newer one of the same cluster has been used
   * (POST /v1/renew): a superseded (stolen) certificate cannot renew again, so it dies with
   * its expiry instead of living as long as the cluster does. A certificate whose successor
   * was never used still renews: that is an agent whose renewal answer was lost, and
   * refusing it would strand the cluster until someone re-joins it.
   */
  readonly newestOnly?: boolean;
}

const callerNames: Record<Caller, string> = {
  cluster: 'a cluster identity', user: 'a user identity', admin: 'the clusterset admin identity', metrics: 'the metrics identity',
};

/** An onRoute hook: a route the table does not name stops the broker at start (PLX_BROKER_INTERNAL). */
export function checkRoute(table: Readonly<Record<string, RouteAccess>>): (route: { method: string | string[]; url: string }) => void {
  return (route) => {
    for (const method of [route.method].flat()) {
      if (!table[routeKey(method, route.url)]) {
        throw new BrokerError('PLX_BROKER_INTERNAL', `route ${method} ${route.url} has no entry in the access table (broker/http/route-access.ts)`);
      }
    }
  };
}

export class Authenticator {
  readonly #deps: AuthenticatorDeps;
  readonly #peer: PeerCertificateSource;
  readonly #principals = new WeakMap<FastifyRequest, Principal>();
  /** Per cluster, the serial last recorded as presented: bounded by the number of clusters. */
  readonly #presented = new Map<string, string>();

  constructor(deps: AuthenticatorDeps, peer: PeerCertificateSource = tlsPeerCertificate) {
    this.#deps = deps;
    this.#peer = peer;
  }

  async authenticate(cert: string | Uint8Array | undefined, o: AuthenticateOptions = {}): Promise<Principal> {
    if (cert === undefined) throw new BrokerError('PLX_BROKER_UNAUTHENTICATED', 'a client certificate is required');
    const { store, clock, trustBundle } = this.#deps;
    let leaf;
    let expired = false;
    try {
      leaf = await verifyLeaf({ certPem: toPem(cert), bundle: trustBundle, now: clock.now(), usage: 'clientAuth', trustDomain: store.clusterset });
    } catch (e) {
      if (!((o.expiredGraceMs ?? 0) > 0 && e instanceof CertError && e.code === 'PLX_CERTS_EXPIRED')) throw certFailure(e);
      leaf = await this.#verifyRecentlyExpired(toPem(cert), o.expiredGraceMs!, e);
      expired = true;
    }
    if (!leaf.identity) throw new BrokerError('PLX_BROKER_CERT_UNTRUSTED', 'client certificate carries no Plexus identity');
    const serial = normalizeSerial(leaf.serial);
    if (leaf.identity.kind === 'user' && (await store.users.get(leaf.identity.name))?.state !== 'active') {
      // A person who was revoked (or never logged in) is refused on every endpoint.
      throw new BrokerError('PLX_BROKER_USER_REVOKED', `user "${leaf.identity.name}" is revoked`);
    }
    if (leaf.identity.kind !== 'cluster') return { identity: leaf.identity, serial };
    const cluster = await store.getCluster(leaf.identity.name);
    if (!cluster || cluster.state !== 'active' || !(await store.isCurrentCertificate(cluster.id, serial))) {
      throw new BrokerError('PLX_BROKER_CLUSTER_REVOKED', `certificate of cluster "${leaf.identity.name}" is no longer valid`);
    }
    if (expired && !(await store.isLatestCertificate(cluster.id, serial))) {
      throw new BrokerError('PLX_BROKER_CERT_EXPIRED', 'client certificate has expired and a newer one was issued since');
    }
    if (o.newestOnly && (await store.isSupersededInUse(serial))) {
      throw new BrokerError('PLX_BROKER_CERT_SUPERSEDED', `certificate of cluster "${leaf.identity.name}" was superseded by a renewal that is in use; only the newest one renews`);
    }
    await this.#markPresented(cluster.id, serial);
    return { identity: leaf.identity, serial, epoch: cluster.epoch };
  }

  /**
   * A cluster certificate that expired less than `graceMs` ago is checked as it was at its
   * last valid instant: same chain (its root must still be in today's bundle), usage and
   * trust domain. Anything else is refused as expired.
   */
  /** A store write when a cluster presents another certificate than last time, not per request. */
  async #markPresented(clusterId: string, serial: string): Promise<void> {
    if (this.#presented.get(clusterId) === serial) return;
    await this.#deps.store.markCertificatePresented(serial, this.#deps.clock.now());
    this.#presented.set(clusterId, serial);
  }

  async #verifyRecentlyExpired(pem: string, graceMs: number, original: CertError): Promise<Awaited<ReturnType<typeof verifyLeaf>>> {
    const { store, clock, trustBundle } = this.#deps;
    const notAfter = new X509Certificate(pem).validToDate;
    if (clock.now().getTime() - notAfter.getTime() > graceMs) throw certFailure(original);
    let leaf;
    try {
      leaf = await verifyLeaf({ certPem: pem, bundle: trustBundle, now: notAfter, usage: 'clientAuth', trustDomain: store.clusterset });
    } catch (e) {
      throw certFailure(e);
    }
    if (leaf.identity?.kind !== 'cluster') throw certFailure(original);
    return leaf;
  }

  /**
   * The one authorization hook (onRequest, on the whole app): looks the route up in `table`
   * and lets through only the callers its entry names. A request that matched no route goes
   * on to the 404 handler; a route without an entry cannot exist (see checkRoute).
   */
  guard(table: Readonly<Record<string, RouteAccess>>, renewal: AuthenticateOptions): onRequestAsyncHookHandler {
    return async (request) => {
      const url = request.routeOptions.url;
      if (url === undefined) return;
      const access = table[routeKey(request.method, url)];
      if (!access) throw new BrokerError('PLX_BROKER_FORBIDDEN', `${request.method} ${url} is in no access table`);
      if (access.allow === 'anyone') return;
      const principal = await this.authenticate(this.#peer(request), access.renewal ? renewal : {});
      const caller = callerOf(principal);
      if (!caller || !access.allow.includes(caller)) {
        throw new BrokerError('PLX_BROKER_FORBIDDEN', `${request.method} ${url} requires ${access.allow.map((c) => callerNames[c]).join(' or ')}`);
      }
      this.#principals.set(request, principal);
    };
  }

  /** The principal the hook attached, if the request went through one (for the request log line). */
  callerOf(request: FastifyRequest): Principal | undefined {
    return this.#principals.get(request);
  }

  /** The principal the guard attached; only valid on a route the access table closes to anonymous callers. */
  principalOf(request: FastifyRequest): Principal {
    const p = this.#principals.get(request);
    if (!p) throw new BrokerError('PLX_BROKER_INTERNAL', 'route is not behind an authentication hook');
    return p;
  }
}
