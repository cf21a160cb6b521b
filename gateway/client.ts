// The sending side: streams to peer gateways over a few long-lived HTTP/2 sessions per
// peer (TLS 1.3, mutual). The peer is verified against the clusterset's trust bundle and
// must present exactly spiffe://<clusterset>/cluster/<the cluster it stands for>, never
// judged by hostname. Each stream is a CONNECT whose authority names the target service.
//
// Rotation: useIdentity() retires every open session gracefully (no new streams on it, its
// open streams carry on until they end) and later streams open sessions with the new
// certificate and bundle. A lost session is dropped from the pool; the next stream
// reconnects.
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import type { Logger } from 'pino';
import { formatIdentity } from '../certs/identity.ts';
import { GatewayError, isGatewayError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { REFUSAL_HEADER, isRefusalReason } from './refusal.ts';
import type { GatewayTls } from './server.ts';
import { formatTarget, serviceKey, type ServiceTarget } from './target.ts';
import { H2_SETTINGS, SESSION_WINDOW } from './tuning.ts';

export interface PeerGateway {
  /** The peer's cluster ID; its gateway must present this cluster's identity. */
  readonly cluster: string;
  readonly host: string;
  readonly port: number;
}

export interface GatewayClientOptions {
  readonly clusterset: string;
  readonly tls: GatewayTls;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Long-lived sessions per peer gateway that streams are spread over (round robin). */
  readonly sessionsPerPeer?: number;
  /**
   * How long a stream may wait for the peer's answer (including the connection's TLS
   * handshake when it opens a session). A peer that accepts TCP and then says nothing (a
   * blackhole, a wrong port) fails the stream with PLX_GATEWAY_UNREACHABLE instead of holding
   * the local connection for the operating system's timeouts. Default 10 s.
   */
  readonly openTimeoutMs?: number;
}

export interface OpenedStream {
  readonly stream: ClientHttp2Stream;
  /** Resolves when the peer accepted (200); rejects with PLX_GATEWAY_REFUSED / _UNREACHABLE / _PEER_IDENTITY. */
  readonly accepted: Promise<void>;
}

interface Pool {
  readonly sessions: (ClientHttp2Session | undefined)[];
  next: number;
}

function peerIdentityCheck(expected: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const uris = (cert.subjectaltname ?? '').split(', ').filter((e) => e.startsWith('URI:'));
    const uri = uris.length === 1 ? uris[0]!.slice(4) : undefined;
    if (uri === expected) return undefined;
    return new GatewayError('PLX_GATEWAY_PEER_IDENTITY', `peer gateway is ${uri ?? 'no single SPIFFE identity'}, expected ${expected}`);
  };
}

export class GatewayClient {
  readonly #o: GatewayClientOptions;
  readonly #pools = new Map<string, Pool>();
  readonly #all = new Set<ClientHttp2Session>();
  readonly #connected = new WeakSet<ClientHttp2Session>();
  #tls: GatewayTls;
  #closed = false;

  constructor(o: GatewayClientOptions) {
    this.#o = o;
    this.#tls = o.tls;
  }

  /** Later sessions use `tls`; open sessions stop taking streams and close when their streams end. */
  useIdentity(tls: GatewayTls): void {
    this.#tls = tls;
    for (const pool of this.#pools.values()) {
      for (const s of pool.sessions) s?.close();
      pool.sessions.fill(undefined);
    }
  }

  open(peer: PeerGateway, target: ServiceTarget): OpenedStream {
    if (this.#closed) throw new GatewayError('PLX_GATEWAY_UNREACHABLE', 'the gateway client is closed');
    const session = this.#session(peer);
    const stream = session.request({ ':method': 'CONNECT', ':authority': formatTarget(target) }, { endStream: false });
    const m = this.#o.metrics;
    const service = serviceKey(target);
    const accepted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new GatewayError('PLX_GATEWAY_UNREACHABLE', `cluster ${peer.cluster}'s gateway did not answer within ${this.#o.openTimeoutMs ?? 10_000} ms`);
        reject(err);
        // A session that never finished its handshake is given up with its streams.
        if (!this.#connected.has(session)) session.destroy(err);
        else if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      }, this.#o.openTimeoutMs ?? 10_000);
      stream.once('close', () => clearTimeout(timer));
      stream.once('response', (headers) => {
        clearTimeout(timer);
        const status = Number(headers[':status']);
        if (status === 200) {
          m.streams.inc({ side: 'out', peer: peer.cluster, service });
          return resolve();
        }
        const header = headers[REFUSAL_HEADER];
        const reason = isRefusalReason(header) ? header : `status-${status}`;
        m.refusals.inc({ side: 'out', peer: peer.cluster, reason: isRefusalReason(header) ? header : 'other' });
        this.#o.logger.warn({ peer: peer.cluster, target: formatTarget(target), reason }, 'peer gateway refused a stream');
        reject(new GatewayError('PLX_GATEWAY_REFUSED', `cluster ${peer.cluster} refused ${formatTarget(target)}: ${reason}`, { reason }));
      });
      // A failed session cancels its streams; the session's own error is the stream error's cause.
      stream.once('error', (err: Error) => {
        const own = [err, err.cause].find((e) => e instanceof GatewayError);
        reject(own ?? new GatewayError('PLX_GATEWAY_UNREACHABLE', `stream to cluster ${peer.cluster} failed: ${err.message}`, { cause: err }));
      });
      stream.once('close', () => reject(new GatewayError('PLX_GATEWAY_UNREACHABLE', `stream to cluster ${peer.cluster} closed before an answer (code ${stream.rstCode})`)));
    });
    accepted.catch(() => undefined);
    return { stream, accepted };
  }

  /** Open sessions (all peers), for tests and metrics. */
  get sessionCount(): number {
    return this.#all.size;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#all) s.destroy();
    this.#pools.clear();
  }

  #session(peer: PeerGateway): ClientHttp2Session {
    const key = `${peer.cluster} ${peer.host} ${peer.port}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = { sessions: new Array(Math.max(1, this.#o.sessionsPerPeer ?? 2)).fill(undefined), next: 0 };
      this.#pools.set(key, pool);
    }
    const i = pool.next++ % pool.sessions.length;
    const existing = pool.sessions[i];
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = this.#connect(peer);
    pool.sessions[i] = session;
    const drop = () => {
      if (pool.sessions[i] === session) pool.sessions[i] = undefined;
    };
    session.once('close', drop);
    session.once('goaway', drop);
    return session;
  }

  #connect(peer: PeerGateway): ClientHttp2Session {
    const expected = formatIdentity({ trustDomain: this.#o.clusterset, kind: 'cluster', name: peer.cluster });
    const m = this.#o.metrics;
    const host = peer.host.includes(':') ? `[${peer.host}]` : peer.host;
    const tlsOptions = {
      host: peer.host, port: peer.port, ALPNProtocols: ['h2'],
      key: this.#tls.keyPem, cert: this.#tls.certPem, ca: this.#tls.trustBundlePem, minVersion: 'TLSv1.3' as const,
      rejectUnauthorized: true, checkServerIdentity: peerIdentityCheck(expected),
      // No SNI: the peer is identified by its certificate's SPIFFE URI, not a name.
      servername: '',
    };
    const session = connect(`https://${host}:${peer.port}`, {
      settings: H2_SETTINGS,
      createConnection: () => tlsConnect(tlsOptions).setNoDelay(true),
    });
    this.#all.add(session);
    m.sessions.inc({ side: 'out' });
    let connected = false;
    session.once('connect', () => {
      connected = true;
      this.#connected.add(session);
      m.connections.inc({ side: 'out' });
      session.setLocalWindowSize(SESSION_WINDOW);
    });
    session.on('error', (err: Error & { code?: string }) => {
      if (!connected) {
        const reason = isGatewayError(err, 'PLX_GATEWAY_UNREACHABLE') ? 'timeout' : err instanceof GatewayError ? 'peer-identity' : err.code?.startsWith('ERR_SSL') || err.code?.startsWith('ERR_TLS') ? 'tls' : 'unreachable';
        m.handshakeFailures.inc({ side: 'out', reason });
      }
      this.#o.logger.warn({ peer: peer.cluster, err: err.message }, 'gateway session to peer failed');
    });
    session.once('close', () => {
      this.#all.delete(session);
      m.sessions.dec({ side: 'out' });
    });
    return session;
  }
}
