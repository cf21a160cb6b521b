// Wires the access proxy: revocation feed, authenticator, upstream and HTTPS server. Its
// URL reaches the clusterset (and `plexus kubeconfig`) through the cluster's advertisement,
// which agent/topology/'s advertiser publishes (main.ts hands it `url`).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { TrustBundle } from '../../certs/trust-bundle.ts';
import type { BrokerClient } from '../broker-client/broker-client.ts';
import type { ClientTls } from '../broker-client/rotating-dispatcher.ts';
import { AgentError } from '../errors.ts';
import { ProxyAuthenticator } from './authn.ts';
import { RevocationFeed, type RevocationStream } from './revocation-feed.ts';
import { RevokedUsers } from './revoked-users.ts';
import { SubjectAccessReviewer } from './access-review.ts';
import { AccessProxy, type AccessProxyOptions } from './server.ts';
import { kubeConfigUpstream } from './upstream.ts';

export interface AccessProxySetupOptions {
  readonly listen: { readonly host: string; readonly port: number };
  /** What to advertise; default: the listen address (0.0.0.0 → 127.0.0.1). */
  readonly advertiseUrl: string | undefined;
  readonly clusterId: string;
  readonly clusterset: string;
  readonly identity: { readonly certPem: string; readonly keyPem: string; readonly trustBundle: string };
  /** The agent's broker client (it follows the live identity itself). */
  readonly broker: Pick<BrokerClient, 'revokedUsers'>;
  readonly kc: KubeConfig;
  readonly logger: Logger;
  readonly now: () => Date;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** With no revocation update for this long, the proxy refuses everyone (agent config revocationMaxStalenessMs). */
  readonly revocationMaxStalenessMs: number;
  readonly metrics?: AccessProxyOptions['metrics'];
  /** The catalog watch: the revocation feed follows its snapshots, `user-revoked` events and bookmarks. */
  readonly stream: RevocationStream;
}

export interface RunningAccessProxy {
  readonly url: string;
  /** The cluster identity renewed or its trust bundle changed: serve and verify with `tls` from now on. */
  useIdentity(tls: ClientTls): void;
  /** Why the proxy refuses everyone because its revocation list is too old (for /readyz), or null. */
  notReady(): string | null;
  stop(): Promise<void>;
}

export async function startAccessProxy(o: AccessProxySetupOptions): Promise<RunningAccessProxy> {
  const log = o.logger.child({ component: 'access-proxy' });
  const revoked = new RevokedUsers();
  const feed = new RevocationFeed({ revoked, fetchList: () => o.broker.revokedUsers(), logger: log, retryBaseMs: o.retryBaseMs, retryMaxMs: o.retryMaxMs, now: o.now });
  const authn = new ProxyAuthenticator({
    trustBundle: TrustBundle.fromPem(o.identity.trustBundle), clusterset: o.clusterset, now: o.now, revoked, maxStalenessMs: o.revocationMaxStalenessMs,
  });
  const upstream = await kubeConfigUpstream(o.kc);
  const proxy = new AccessProxy({
    listen: o.listen, tls: o.identity, trustBundlePem: o.identity.trustBundle, authn, upstream, review: new SubjectAccessReviewer(upstream),
    audit: log.child({ stream: 'audit' }), metrics: o.metrics,
  });
  let bound: string;
  try {
    bound = await proxy.start();
  } catch (err) {
    await proxy.stop().catch(() => undefined);
    throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `cannot serve the access proxy on ${o.listen.host}:${o.listen.port} (--proxy-listen)`, { cause: err });
  }
  const url = o.advertiseUrl ?? bound;
  const unfollow = feed.follow(o.stream);
  feed.refresh();
  log.info({ listen: proxy.url, proxyUrl: url }, 'access proxy listening');
  return {
    url,
    useIdentity: (tls) => {
      const bundle = TrustBundle.fromPem(tls.trustBundle);
      proxy.setServingCertificate(tls);
      authn.setTrustBundle(bundle);
    },
    // Only staleness: before the first list the agent's readiness already waits on the
    // broker (watch grace), and the proxy's 503 PLX_AGENT_PROXY_NOT_READY says the rest.
    notReady: () => {
      const stale = authn.revocationsStale();
      return stale === null ? null : `access proxy: ${stale}`;
    },
    stop: async () => {
      unfollow();
      feed.stop();
      await proxy.stop();
    },
  };
}
