// The agent's probe endpoint: HTTPS, TLS 1.3 only, mutual TLS. The TLS layer refuses any
// client whose certificate does not chain to the trust bundle; the handler then admits
// only cluster identities of this clusterset (SPIFFE URI parsed exactly) that are members
// now: a removed cluster's certificate stays valid until it expires, so membership (as the
// catalog watch reports it) is checked on every request, as the broker checks its store.
// Other agents call GET /v1/probe to measure their round-trip time to this cluster.
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { parseIdentity } from '../../certs/identity.ts';
import type { AgentErrorCode } from '../errors.ts';
import { spiffeUriOf } from './spiffe-san.ts';

export const PROBE_PATH = '/v1/probe';

export interface ProbeServerOptions {
  readonly host: string;
  readonly port: number;
  readonly clusterId: string;
  readonly clusterset: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustBundlePem: string;
  readonly logger: Logger;
  /** Whether a cluster is a member now (CatalogView.isMember); a removed one is refused. */
  readonly isMember: (cluster: string) => boolean;
}

function refuse(res: ServerResponse, code: AgentErrorCode, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  // The connection goes too: a refused peer does not keep a socket to retry on.
  res.writeHead(403, { 'content-type': 'application/json', connection: 'close' }).end(body);
}

export interface RunningProbeServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** New TLS connections get this certificate and verify clients against this bundle; open ones are kept. */
  useIdentity(tls: { certPem: string; keyPem: string; trustBundle: string }): void;
  close(): Promise<void>;
}

/** The peer's cluster ID when it is a cluster of this clusterset; undefined otherwise. */
export function peerCluster(socket: TLSSocket, clusterset: string): string | undefined {
  const uri = spiffeUriOf(socket.getPeerCertificate()?.subjectaltname);
  if (!uri) return undefined;
  try {
    const id = parseIdentity(uri);
    return id.kind === 'cluster' && id.trustDomain === clusterset ? id.name : undefined;
  } catch {
    return undefined;
  }
}

export async function startProbeServer(o: ProbeServerOptions): Promise<RunningProbeServer> {
  const body = Buffer.from(JSON.stringify({ cluster: o.clusterId }));
  const server: Server = createServer({
    key: o.keyPem, cert: o.certPem, ca: o.trustBundlePem, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const peer = peerCluster(req.socket as TLSSocket, o.clusterset);
    if (!peer) return refuse(res, 'PLX_AGENT_PROBE_FORBIDDEN', 'only a cluster of this clusterset may probe');
    if (!o.isMember(peer)) return refuse(res, 'PLX_AGENT_PROBE_PEER_REMOVED', `cluster "${peer}" is not a member of the clusterset (removed, or not known yet)`);
    if (req.method !== 'GET' || req.url !== PROBE_PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
  // Probers keep one connection open between probes.
  server.keepAliveTimeout = 60_000;
  // Every accepted TCP connection, tracked from accept, not from the end of the TLS handshake:
  // closeAllConnections() only knows HTTP connections, which on https begin at
  // 'secureConnection'. A peer still in its handshake when close() ran escaped it, was then
  // served with keep-alive, and its one-per-second probes kept that connection (and so
  // server.close()) alive for good: the agent's graceful stop hung in topology.stop().
  const sockets = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    if (closing) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', (err) => o.logger.debug({ err: err.message }, 'probe client refused at TLS'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    useIdentity: (tls) => server.setSecureContext({ key: tls.keyPem, cert: tls.certPem, ca: tls.trustBundle, minVersion: 'TLSv1.3' }),
    close: () => new Promise<void>((resolve) => {
      closing = true;
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }),
  };
}
