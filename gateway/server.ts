// The receiving side of a gateway: one TLS 1.3 port that serves every exported service.
// A peer gateway opens HTTP/2 CONNECT streams whose authority names a service
// (`<name>.<namespace>.svc:<port>`); each is authorized (peer-auth.ts, then the export
// table) and spliced to a local backend, or refused with a status, a `plexus-refusal`
// header, a count and a log line naming the peer. Never a relay to an address: the target
// is looked up, never dialled as given.
import { constants, createSecureServer, type Http2Session, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { connect, type Socket, type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { GatewayError } from './errors.ts';
import type { ExportTable, Backend } from './export-table.ts';
import type { GatewayMetrics } from './metrics.ts';
import { authenticatePeer, streamRefusal, type Membership, type PeerResult } from './peer-auth.ts';
import { REFUSAL_HEADER, refusalStatus, type RefusalReason } from './refusal.ts';
import { splice } from './splice.ts';
import { parseTarget } from './target.ts';
import { H2_SETTINGS, SESSION_WINDOW } from './tuning.ts';

export interface GatewayTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly trustBundlePem: string;
}

export interface GatewayServerOptions {
  readonly host: string;
  readonly port: number;
  /** The clusterset's name, which is its SPIFFE trust domain. */
  readonly clusterset: string;
  readonly tls: GatewayTls;
  readonly exports: ExportTable;
  readonly membership: Membership;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** How long a backend may take to accept a connection. */
  readonly backendConnectTimeoutMs?: number;
}

export class GatewayServer {
  readonly #o: GatewayServerOptions;
  readonly #server: Http2SecureServer;
  readonly #now: () => Date;
  readonly #peers = new WeakMap<Http2Session, Promise<PeerResult>>();
  readonly #sessions = new Set<Http2Session>();
  readonly #sockets = new Set<Socket>();
  #closing = false;
  #bundle: TrustBundle;
  #exports: ExportTable;
  #next = 0;

  constructor(o: GatewayServerOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
    this.#bundle = TrustBundle.fromPem(o.tls.trustBundlePem);
    this.#exports = o.exports;
    // requestCert without rejectUnauthorized: the handshake completes for any certificate
    // (or none) so the refusal can name what the peer claimed; nothing is carried before
    // peer-auth.ts has verified it against the clusterset root.
    this.#server = createSecureServer({
      ...tlsOptions(o.tls), requestCert: true, rejectUnauthorized: false, allowHTTP1: false, settings: H2_SETTINGS,
    });
    // Every accepted TCP connection, from accept: a peer still in (or never starting) its TLS
    // handshake has no session yet, and would otherwise hold close() open for as long as it
    // stays connected.
    this.#server.on('connection', (socket: Socket) => {
      if (this.#closing) return void socket.destroy();
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('session', (session) => this.#onSession(session));
    this.#server.on('stream', (stream, headers) => {
      // A stream the peer reset while it was being authorized or dialled must not become an
      // unhandled rejection that ends the gateway: it is logged and the stream is reset.
      this.#onStream(stream, headers).catch((err: Error) => {
        o.logger.warn({ err: err.message, target: headers[':authority'] }, 'gateway stream failed');
        if (!stream.destroyed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      });
    });
    this.#server.on('tlsClientError', (err: Error & { code?: string }) => {
      o.metrics.handshakeFailures.inc({ side: 'in', reason: err.code ?? 'tls' });
      o.logger.warn({ err: err.message, code: err.code }, 'gateway TLS handshake failed');
    });
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      socket.setNoDelay(true);
      o.metrics.connections.inc({ side: 'in' });
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#o.port, this.#o.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    }).catch((err: Error) => {
      throw new GatewayError('PLX_GATEWAY_LISTEN', `cannot listen on ${this.#o.host}:${this.#o.port}: ${err.message}`, { cause: err });
    });
    return this.port;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** New connections present `tls` and verify peers against its bundle; open ones carry on. */
  useIdentity(tls: GatewayTls): void {
    const bundle = TrustBundle.fromPem(tls.trustBundlePem);
    this.#server.setSecureContext(tlsOptions(tls));
    this.#bundle = bundle;
  }

  /** Swaps the whole export table; streams already spliced are not affected. */
  setExports(table: ExportTable): void {
    this.#exports = table;
  }

  async close(): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  #onSession(session: Http2Session): void {
    this.#sessions.add(session);
    this.#o.metrics.sessions.inc({ side: 'in' });
    session.once('close', () => {
      this.#sessions.delete(session);
      this.#o.metrics.sessions.dec({ side: 'in' });
    });
    session.on('error', (err) => this.#o.logger.debug({ err: err.message }, 'gateway session error'));
    session.once('connect', () => session.setLocalWindowSize(SESSION_WINDOW));
    const socket = session.socket as TLSSocket;
    const cert = socket.getPeerX509Certificate();
    this.#peers.set(session, authenticatePeer({
      der: cert ? new Uint8Array(cert.raw) : undefined, subjectaltname: cert?.subjectAltName,
      bundle: this.#bundle, clusterset: this.#o.clusterset, now: this.#now(),
    }));
  }

  async #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    stream.on('error', () => undefined);
    const auth = await this.#peers.get(stream.session!)!;
    if (!auth.ok) {
      this.#refuse(stream, auth.reason, 'unverified', { peer: auth.claimed, detail: auth.detail });
      // A peer that is not a verified cluster keeps no connection to retry on.
      stream.session?.close();
      return;
    }
    const peer = auth.peer;
    const log = { peer: peer.identity, serial: peer.serial, target: headers[':authority'] };
    const denied = streamRefusal(peer, { membership: this.#o.membership, bundle: this.#bundle, now: this.#now() });
    if (denied) return this.#refuse(stream, denied, peer.cluster, log);
    if (headers[':method'] !== 'CONNECT') return this.#refuse(stream, 'not-connect', peer.cluster, log);
    const target = parseTarget(headers[':authority']);
    if (!target) return this.#refuse(stream, 'bad-target', peer.cluster, log);
    const found = this.#exports.lookup(target);
    if (!found.ok) return this.#refuse(stream, found.reason, peer.cluster, log);
    const socket = await this.#dial(found.backends);
    if (!socket) return this.#refuse(stream, 'backend-unreachable', peer.cluster, { ...log, service: found.service });
    if (stream.closed) return void socket.destroy();
    this.#o.logger.debug(log, 'gateway stream admitted');
    const m = this.#o.metrics;
    m.streams.inc({ side: 'in', peer: peer.cluster, service: found.service });
    m.streamsActive.inc({ side: 'in', peer: peer.cluster });
    stream.respond({ ':status': 200 });
    splice(socket, stream, () => {
      m.streamsActive.dec({ side: 'in', peer: peer.cluster });
      // From this gateway's side of the peer link: what went to the peer is what the backend sent.
      m.bytes.inc({ side: 'in', peer: peer.cluster, service: found.service, direction: 'sent' }, socket.bytesRead);
      m.bytes.inc({ side: 'in', peer: peer.cluster, service: found.service, direction: 'received' }, socket.bytesWritten);
    });
  }

  #refuse(stream: ServerHttp2Stream, reason: RefusalReason, peerLabel: string, log: Record<string, unknown>): void {
    this.#o.metrics.refusals.inc({ side: 'in', peer: peerLabel, reason });
    this.#o.logger.warn({ ...log, reason }, 'gateway stream refused');
    if (stream.closed) return;
    stream.respond({ ':status': refusalStatus(reason), [REFUSAL_HEADER]: reason }, { endStream: true });
  }

  /** The first backend that accepts, starting at a rotating index so load spreads. */
  async #dial(backends: readonly Backend[]): Promise<Socket | undefined> {
    const start = this.#next++ % backends.length;
    for (let i = 0; i < backends.length; i++) {
      const b = backends[(start + i) % backends.length]!;
      const socket = await dialOne(b, this.#o.backendConnectTimeoutMs ?? 5_000);
      if (socket) return socket;
    }
    return undefined;
  }
}

function dialOne(b: Backend, timeoutMs: number): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: b.host, port: b.port, allowHalfOpen: true, noDelay: true });
    const fail = () => {
      socket.destroy();
      resolve(undefined);
    };
    const timer = setTimeout(fail, timeoutMs);
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve(socket);
    });
  });
}

function tlsOptions(tls: GatewayTls) {
  return { key: tls.keyPem, cert: tls.certPem, ca: tls.trustBundlePem, minVersion: 'TLSv1.3' as const };
}

