// The access proxy: HTTPS (TLS 1.3) with client certificates, serving the cluster's own
// identity certificate (its DNS SAN is clusterServerName(), which kubeconfigs pin with
// tls-server-name). Each request is authenticated (authn.ts), its headers rewritten
// (impersonation.ts) and forwarded to the local API server (upstream.ts); responses are
// piped back as they arrive, so watches stream without buffering. Upgrades (exec,
// attach, port-forward over SPDY or WebSocket) are relayed as raw sockets once the API
// server agrees to switch protocols. One audit line per request.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { ProxyError, type ProxyErrorCode } from './proxy-error.ts';
import type { ProxyAuthenticator, ProxyIdentity } from './authn.ts';
import { hopByHopNames, upstreamHeaders } from './impersonation.ts';
import type { ImpersonationReview } from './access-review.ts';
import { requestInfo } from './request-info.ts';
import type { Upstream } from './upstream.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { dialableUrl } from '../../broker/api/addresses.ts';

export interface AccessProxyOptions {
  readonly listen: { readonly host: string; readonly port: number };
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  readonly trustBundlePem: string;
  readonly authn: ProxyAuthenticator;
  readonly upstream: Upstream;
  /** Decides kubectl --as requests by the person's own RBAC. */
  readonly review: ImpersonationReview;
  /** Receives one audit line per request; its bindings name the cluster. */
  readonly audit: Logger;
  /** Counts requests by the audit line's decision (forwarded, refused, error). */
  readonly metrics?: Pick<AgentMetrics, 'proxyRequests'> | undefined;
}

/** A Kubernetes Status body, so kubectl prints the reason; the stable code rides in a header and in details. */
function refusalBody(e: ProxyError): { status: number; body: string } {
  const { code, message, status } = e;
  const reason = status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : status === 503 ? 'ServiceUnavailable' : 'InternalError';
  const body = JSON.stringify({
    kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `${code}: ${message}`, reason, code: status,
    details: { causes: [{ reason: code, message }] },
  });
  return { status, body };
}

function asProxyError(e: unknown): ProxyError {
  return e instanceof ProxyError ? e : new ProxyError('PLX_AGENT_PROXY_UPSTREAM', (e as Error)?.message ?? 'proxy failure', { cause: e });
}

export class AccessProxy {
  readonly #o: AccessProxyOptions;
  readonly #server: https.Server;
  readonly #identities = new WeakMap<Socket, Promise<ProxyIdentity>>();
  readonly #upgraded = new Set<Socket>();
  /** Every accepted TCP connection, from accept on (see stop()). */
  readonly #sockets = new Set<Socket>();
  #closing = false;
  readonly #requestIds = new WeakMap<IncomingMessage, string>();
  #caPem: string;

  constructor(o: AccessProxyOptions) {
    this.#o = o;
    this.#caPem = o.trustBundlePem;
    this.#server = https.createServer({
      key: o.tls.keyPem, cert: o.tls.certPem, ca: o.trustBundlePem, minVersion: 'TLSv1.3',
      // The trust decision is authn.ts's (injected clock, stable codes), not OpenSSL's.
      requestCert: true, rejectUnauthorized: false,
    });
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.#onRequest(req, res));
    this.#server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => void this.#onUpgrade(req, socket, head));
    this.#server.on('connection', (s: Socket) => {
      if (this.#closing) return void s.destroy();
      s.setNoDelay(true);
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  async start(): Promise<string> {
    this.#server.listen(this.#o.listen.port, this.#o.listen.host);
    await once(this.#server, 'listening');
    return this.url;
  }

  get url(): string {
    return dialableUrl('https', this.#o.listen.host, (this.#server.address() as AddressInfo).port);
  }

  /**
   * Replaces the serving certificate and, when given, the roots offered for client
   * certificates (cluster identity renewed, trust bundle changed). Only new TLS connections
   * see it: open connections, watches and upgraded streams keep theirs.
   */
  setServingCertificate(tls: { certPem: string; keyPem: string; trustBundle?: string }): void {
    if (tls.trustBundle !== undefined) this.#caPem = tls.trustBundle;
    this.#server.setSecureContext({ key: tls.keyPem, cert: tls.certPem, ca: this.#caPem, minVersion: 'TLSv1.3' });
  }

  async stop(): Promise<void> {
    // Destroys every accepted connection, not only those closeAllConnections() knows: on
    // https those begin after the TLS handshake, so a client mid-handshake at stop escaped,
    // was served with keep-alive, and could keep server.close() (and the agent's stop)
    // pending for good — the same hang the probe server had (2cf2572).
    this.#closing = true;
    for (const s of this.#upgraded) s.destroy();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
    this.#o.upstream.close();
  }


  /** Verified once per TLS connection; checked (expiry, revocation) on every request. */
  async #identify(req: IncomingMessage): Promise<ProxyIdentity> {
    const socket = req.socket;
    let p = this.#identities.get(socket);
    if (!p) {
      const cert = (socket as TLSSocket).getPeerCertificate?.(false);
      p = this.#o.authn.authenticate(cert?.raw);
      this.#identities.set(socket, p);
    }
    const identity = await p;
    this.#o.authn.check(identity);
    return identity;
  }

  /** One id per request: in its audit line and its `x-plexus-request-id` response header. */
  #requestId(req: IncomingMessage): string {
    let id = this.#requestIds.get(req);
    if (id === undefined) this.#requestIds.set(req, (id = randomUUID()));
    return id;
  }

  #audit(req: IncomingMessage, identity: ProxyIdentity | undefined, decision: string, status: number, extra: Record<string, unknown> = {}): void {
    const info = requestInfo(req.method ?? 'GET', req.url ?? '/');
    this.#o.metrics?.proxyRequests.inc({ decision });
    this.#o.audit.info({
      audit: true, reqId: this.#requestId(req), user: identity?.user, groups: identity?.groups,
      verb: info.verb, resource: info.resource, subresource: info.subresource, namespace: info.namespace, name: info.name,
      path: info.path, decision, status, ...extra,
    }, 'proxy request');
  }

  async #authorize(req: IncomingMessage, upgrade: boolean) {
    const identity = await this.#identify(req);
    const decision = upstreamHeaders(req.rawHeaders, identity, { upgrade });
    if (!decision.ok && decision.as && await this.#o.review.allows(identity, decision.as.request)) {
      return { identity, headers: decision.as.headers };
    }
    if (!decision.ok) {
      throw Object.assign(new ProxyError('PLX_AGENT_PROXY_IMPERSONATION_REFUSED',
        `the proxy sets impersonation itself; a client "${decision.header}" header is refused`), { identity });
    }
    return { identity, headers: decision.headers };
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let auth;
    try {
      auth = await this.#authorize(req, false);
    } catch (e) {
      const err = asProxyError(e);
      const { status, body } = refusalBody(err);
      this.#audit(req, (e as { identity?: ProxyIdentity }).identity, 'refused', status, { code: err.code });
      res.writeHead(status, {
        'content-type': 'application/json', 'x-plexus-error': err.code, 'x-plexus-request-id': this.#requestId(req), 'content-length': Buffer.byteLength(body),
      }).end(body);
      req.resume();
      return;
    }
    const { identity, headers } = auth;
    const up = this.#o.upstream.request({ method: req.method ?? 'GET', path: req.url ?? '/', headers });
    let upResponse: IncomingMessage | undefined;
    up.on('response', (upRes) => {
      upResponse = upRes;
      const out: Record<string, string | string[]> = {};
      const hop = hopByHopNames(upRes.rawHeaders);
      for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !hop.has(k)) out[k] = v;
      out['x-plexus-request-id'] = this.#requestId(req);
      res.writeHead(upRes.statusCode ?? 502, out);
      // A streamed (chunked) answer such as a watch may not send its first event for a long
      // time: flush its headers now. A sized answer goes out with its body in one write.
      if (upRes.headers['content-length'] === undefined) res.flushHeaders();
      upRes.pipe(res);
    });
    up.on('error', (e) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const { status, body } = refusalBody(new ProxyError('PLX_AGENT_PROXY_UPSTREAM', `API server unreachable: ${e.message}`));
      this.#audit(req, identity, 'error', status, { code: 'PLX_AGENT_PROXY_UPSTREAM' satisfies ProxyErrorCode });
      res.writeHead(status, { 'content-type': 'application/json', 'x-plexus-error': 'PLX_AGENT_PROXY_UPSTREAM', 'x-plexus-request-id': this.#requestId(req) }).end(body);
    });
    // A client that goes away (kubectl ^C on a watch) ends the upstream request too; a
    // finished exchange leaves the upstream connection in the keep-alive pool.
    res.on('close', () => {
      if (!upResponse?.complete) up.destroy();
      if (upResponse) this.#audit(req, identity, 'forwarded', upResponse.statusCode ?? 0);
    });
    req.pipe(up);
  }

  async #onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let auth;
    try {
      auth = await this.#authorize(req, true);
    } catch (e) {
      const err = asProxyError(e);
      const { status, body } = refusalBody(err);
      this.#audit(req, (e as { identity?: ProxyIdentity }).identity, 'refused', status, { code: err.code, upgrade: true });
      socket.end(`HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\nx-plexus-error: ${err.code}\r\n`
        + `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const { identity, headers } = auth;
    // What was asked for (websocket, SPDY/3.1) and what the API server chose (the
    // WebSocket subprotocol or SPDY stream version): which wire a session really used.
    const protocol = req.headers.upgrade;
    const up = this.#o.upstream.request({ method: req.method ?? 'GET', path: req.url ?? '/', headers });
    up.on('upgrade', (upRes, upSocket, upHead) => {
      socket.write(rawHead(upRes));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      this.#relay(socket, upSocket);
      const subprotocol = upRes.headers['sec-websocket-protocol'] ?? upRes.headers['x-stream-protocol-version'];
      this.#audit(req, identity, 'forwarded', upRes.statusCode ?? 101, { upgrade: true, protocol, subprotocol });
    });
    up.on('response', (upRes) => {
      // The API server refused to switch protocols (e.g. 403): pass its answer through.
      socket.write(rawHead(upRes, true));
      upRes.pipe(socket);
      this.#audit(req, identity, 'forwarded', upRes.statusCode ?? 0, { upgrade: true, protocol });
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => up.destroy());
    up.end();
  }

  #relay(a: Socket, b: Socket): void {
    this.#upgraded.add(a);
    a.setNoDelay(true);
    b.setNoDelay(true);
    a.pipe(b);
    b.pipe(a);
    const end = () => {
      this.#upgraded.delete(a);
      a.destroy();
      b.destroy();
    };
    a.on('close', end);
    b.on('close', end);
    b.on('error', end);
  }
}

function rawHead(res: IncomingMessage, close = false): string {
  let head = `HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}\r\n`;
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const lower = res.rawHeaders[i]!.toLowerCase();
    if (close && (lower === 'connection' || lower === 'keep-alive')) continue;
    head += `${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}\r\n`;
  }
  return head + (close ? 'connection: close\r\n' : '') + '\r\n';
}
