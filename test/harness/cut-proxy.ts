// A TCP proxy in front of one address that a test can "cut": a broker replica pointed at
// proxies instead of the etcd members is cut off from etcd without touching etcd itself.
// Bytes pass through untouched (TLS stays end to end). cut('refuse') resets every open and
// new connection (the peer sees ECONNRESET at once); cut('blackhole') keeps accepting but
// forwards nothing and never answers, as a dropped route does (the peer sees only its own
// timeouts). heal() forwards again; the port stays the same throughout.
import net from 'node:net';

export type CutMode = 'refuse' | 'blackhole';

export class CutProxy {
  readonly port: number;
  readonly #server: net.Server;
  readonly #open = new Set<net.Socket>();
  #mode: CutMode | undefined;

  private constructor(server: net.Server) {
    this.#server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** Listens on 127.0.0.1 (port 0) and forwards to target. */
  static async start(target: { host: string; port: number }): Promise<CutProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
    });
    const proxy = new CutProxy(server);
    server.on('connection', (socket) => proxy.#accept(socket, target));
    return proxy;
  }

  get address(): string { return `127.0.0.1:${this.port}`; }
  get cutMode(): CutMode | undefined { return this.#mode; }

  #accept(socket: net.Socket, target: { host: string; port: number }): void {
    socket.on('error', () => {});
    if (this.#mode === 'refuse') { socket.resetAndDestroy(); return; }
    this.#open.add(socket);
    socket.once('close', () => this.#open.delete(socket));
    if (this.#mode === 'blackhole') { socket.pause(); return; }
    const upstream = net.connect(target);
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.once('close', () => upstream.destroy());
    upstream.once('close', () => socket.destroy());
    socket.pipe(upstream);
    upstream.pipe(socket);
  }

  /** Cuts every open connection and every new one until heal(). */
  cut(mode: CutMode = 'refuse'): void {
    this.#mode = mode;
    for (const s of this.#open) {
      if (mode === 'refuse') s.resetAndDestroy();
      else { s.unpipe(); s.pause(); }
    }
    if (mode === 'refuse') this.#open.clear();
  }

  /** New connections are forwarded again (blackholed ones are reset so clients redial). */
  heal(): void {
    for (const s of this.#open) if (this.#mode === 'blackhole') s.resetAndDestroy();
    this.#mode = undefined;
  }

  async close(): Promise<void> {
    for (const s of this.#open) s.destroy();
    this.#open.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
