// The trust-bundle acknowledgement call (POST /v1/trust-bundle/ack) for one identity: mTLS
// with that identity's certificate, the broker verified against that identity's bundle.
// The refresher (agent/identity/trust-bundle-refresher.ts) makes a new one whenever the
// identity changes, so it never depends on another component having reloaded its TLS.
import { Agent } from 'undici';
import { callBroker } from '../../broker/api/call.ts';
import { caPaths, trustBundleAckResponseSchema, type TrustBundleAckResponse } from '../../broker/api/ca.ts';
import { AgentError } from '../errors.ts';
import type { StoredIdentity } from '../identity/identity-store.ts';
import type { TrustBundleApi } from '../identity/trust-bundle-refresher.ts';

export class TrustBundleClient implements TrustBundleApi {
  readonly #baseUrl: URL;
  readonly #dispatcher: Agent;
  readonly #timeoutMs: number;

  constructor(o: { baseUrl: string; identity: StoredIdentity; timeoutMs?: number }) {
    this.#baseUrl = new URL(o.baseUrl);
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#dispatcher = new Agent({
      connect: { minVersion: 'TLSv1.3', ca: o.identity.trustBundle, cert: o.identity.certPem, key: o.identity.keyPem, rejectUnauthorized: true },
    });
  }

  async ackTrustBundle(fingerprints: string[]): Promise<TrustBundleAckResponse> {
    const target = { baseUrl: this.#baseUrl, dispatcher: this.#dispatcher, timeoutMs: this.#timeoutMs };
    const r = await callBroker(target, 'POST', caPaths.trustBundleAck, { fingerprints }, trustBundleAckResponseSchema);
    if (r.ok) return r.data;
    if (r.kind === 'unreachable') throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', r.message, { cause: r.cause });
    if (r.kind === 'protocol') throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', r.message);
    throw new AgentError('PLX_AGENT_BROKER_REJECTED', `broker refused ${caPaths.trustBundleAck}: ${r.code ? `[${r.code}] ` : ''}${r.message}`, {
      status: r.status, ...(r.code ? { brokerCode: r.code } : {}),
    });
  }

  close(): Promise<void> {
    return this.#dispatcher.close();
  }
}
