// The agent's plain-HTTP observability listener: /metrics (Prometheus text), /healthz
// (the process answers) and /readyz (the agent is ready and follows the broker). It holds
// no secret and serves nothing else: every other path is 404, every other method 405.
// Plain HTTP on purpose: kubelet probes and an in-cluster Prometheus scrape it without
// credentials, so it must never expose more than counts and names (README "Metrics").
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { dialableUrl } from '../../broker/api/addresses.ts';

export interface MetricsServerOptions {
  readonly listen: { readonly host: string; readonly port: number };
  readonly registry: Registry;
  /** Null when ready; otherwise a short reason, sent as the 503 body. */
  readonly notReady: () => string | null;
}

export class MetricsServer {
  readonly #o: MetricsServerOptions;
  readonly #server: http.Server;

  constructor(o: MetricsServerOptions) {
    this.#o = o;
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    // A scrape is one short request: do not let idle keep-alives hold the stop.
    this.#server.keepAliveTimeout = 5_000;
  }

  async start(): Promise<string> {
    this.#server.listen(this.#o.listen.port, this.#o.listen.host);
    await once(this.#server, 'listening');
    return this.url;
  }

  get url(): string {
    return dialableUrl('http', this.#o.listen.host, (this.#server.address() as AddressInfo).port);
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/readyz') return text(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (path === '/healthz') return text(res, 200, 'ok\n');
    if (path === '/readyz') {
      const reason = this.#o.notReady();
      return reason === null ? text(res, 200, 'ok\n') : text(res, 503, `${reason}\n`);
    }
    try {
      const body = await this.#o.registry.metrics();
      text(res, 200, body, { 'content-type': this.#o.registry.contentType });
    } catch {
      text(res, 500, 'metrics collection failed\n');
    }
  }
}

function text(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
