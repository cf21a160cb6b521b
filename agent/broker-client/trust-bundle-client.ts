// The trust-bundle acknowledgement call (POST /v1/trust-bundle/ack) for one identity: mTLS
// with that identity's certificate, the broker verified against that identity's bundle.
// The refresher (agent/identity/trust-bundle-refresher.ts) makes a new one whenever the
// identity changes, so it never depends on another component having reloaded its TLS.
// A BrokerClient made from one StoredIdentity: the call and its error mapping are its.
import type { StoredIdentity } from '../identity/identity-store.ts';
import type { TrustBundleApi } from '../identity/trust-bundle-refresher.ts';
import { BrokerClient } from './broker-client.ts';

export class TrustBundleClient extends BrokerClient implements TrustBundleApi {
  constructor(o: { baseUrl: string; identity: StoredIdentity; timeoutMs?: number }) {
    super({
      baseUrl: o.baseUrl, trustBundle: o.identity.trustBundle, clientCert: { certPem: o.identity.certPem, keyPem: o.identity.keyPem },
      ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    });
  }
}
