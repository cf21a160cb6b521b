// Probes another cluster's probe endpoint over mutual TLS with this cluster's identity.
// The server is verified against the trust bundle and identified exactly by its SPIFFE
// URI (spiffe://<clusterset>/cluster/<id>), never by hostname. One keep-alive agent per
// target, so a connection verified for one cluster is never reused for another and the
// measured time is one request round trip, not a handshake.
import { Agent, request } from 'node:https';
import type { PeerCertificate } from 'node:tls';
import { formatIdentity } from '../../certs/identity.ts';
import { AgentError } from '../errors.ts';
import { PROBE_PATH } from './probe-server.ts';
import { spiffeUriOf } from './spiffe-san.ts';

export interface ProbeTarget {
  readonly cluster: string;
  /** https://host:port of the target's probe endpoint. */
  readonly url: string;
}

/** Resolves when the target answered 200; rejects on any failure (the caller times it). */
export type ProbeFn = (target: ProbeTarget, signal: AbortSignal) => Promise<void>;

export interface HttpsProberOptions {
  readonly clusterset: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustBundlePem: string;
}

export interface HttpsProbe {
  readonly probe: ProbeFn;
  /**
   * Later probes present `tls` (renewal, trust-bundle change). Agents made for the old
   * identity are destroyed once their probe in flight, if any, has finished.
   */
  useIdentity(tls: { certPem: string; keyPem: string; trustBundle: string }): void;
  close(): void;
}

/** A check for tls.connect: the certificate must name exactly `expected`. */
export function spiffeServerCheck(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const uri = spiffeUriOf(cert.subjectaltname);
    if (uri === expected) return undefined;
    return new AgentError('PLX_AGENT_PROBE_IDENTITY', `probe peer is ${uri ?? 'no single SPIFFE identity'}, expected ${expected}`);
  };
}

export function httpsProbe(o: HttpsProberOptions): HttpsProbe {
  let tls = { cert: o.certPem, key: o.keyPem, ca: o.trustBundlePem };
  const agents = new Map<string, Agent>();
  const inFlight = new Map<Agent, number>();
  const retired = new Set<Agent>();
  const settle = (agent: Agent) => {
    const n = (inFlight.get(agent) ?? 1) - 1;
    if (n > 0) return void inFlight.set(agent, n);
    inFlight.delete(agent);
    if (retired.delete(agent)) agent.destroy();
  };
  const agentFor = (t: ProbeTarget): Agent => {
    const key = `${t.cluster} ${t.url}`;
    let agent = agents.get(key);
    if (!agent) {
      const expected = formatIdentity({ trustDomain: o.clusterset, kind: 'cluster', name: t.cluster });
      agent = new Agent({
        keepAlive: true, maxSockets: 1, minVersion: 'TLSv1.3', ...tls,
        rejectUnauthorized: true, checkServerIdentity: spiffeServerCheck(expected),
      });
      agents.set(key, agent);
    }
    return agent;
  };
  const probe: ProbeFn = (target, signal) => {
    const agent = agentFor(target);
    inFlight.set(agent, (inFlight.get(agent) ?? 0) + 1);
    return probeWith(agent, target, signal).finally(() => settle(agent));
  };
  const probeWith = (agent: Agent, target: ProbeTarget, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    const url = new URL(PROBE_PATH, target.url);
    const req = request(url, { method: 'GET', agent, signal }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new AgentError('PLX_AGENT_PROBE_FAILED', `probe of ${target.cluster} answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(err instanceof AgentError ? err : new AgentError('PLX_AGENT_PROBE_FAILED', `probe of ${target.cluster} failed: ${err.message}`, { cause: err })));
    req.end();
  });
  return {
    probe,
    useIdentity(next) {
      tls = { cert: next.certPem, key: next.keyPem, ca: next.trustBundle };
      for (const a of agents.values()) {
        if (inFlight.has(a)) retired.add(a);
        else a.destroy();
      }
      agents.clear();
    },
    close() {
      for (const a of [...agents.values(), ...retired]) a.destroy();
      agents.clear();
      retired.clear();
    },
  };
}
