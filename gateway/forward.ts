// A local TCP listener on the sending side: every connection accepted on it becomes one
// stream to one (peer gateway, target service:port). The agent will create one per
// imported service whose endpoints sit behind another cluster's gateway; for now
// `plexus gateway run --forward` names them.
//
// Bytes are sent as soon as the stream is open, before the peer's answer (the peer holds
// them until its backend connected, or drops them with the refusal): a connection costs no
// extra round trip. A refusal closes the local connection.
import { createServer, type Server, type Socket, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { GatewayClient, PeerGateway } from './client.ts';
import { GatewayError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { splice } from './splice.ts';
import { serviceKey, type ServiceTarget } from './target.ts';

export interface ForwardOptions {
  readonly host: string;
  readonly port: number;
  readonly peer: PeerGateway;
  readonly target: ServiceTarget;
  readonly client: GatewayClient;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
}

export class Forward {
  readonly #o: ForwardOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  constructor(o: ForwardOptions) {
    this.#o = o;
    this.#server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
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

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    const { peer, target, metrics: m } = this.#o;
    let opened;
    try {
      opened = this.#o.client.open(peer, target);
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'gateway forward cannot open a stream');
      return void socket.destroy();
    }
    const service = serviceKey(target);
    m.streamsActive.inc({ side: 'out', peer: peer.cluster });
    splice(socket, opened.stream, () => {
      m.streamsActive.dec({ side: 'out', peer: peer.cluster });
      m.bytes.inc({ side: 'out', peer: peer.cluster, service, direction: 'sent' }, socket.bytesRead);
      m.bytes.inc({ side: 'out', peer: peer.cluster, service, direction: 'received' }, socket.bytesWritten);
    });
    opened.accepted.catch(() => socket.destroy());
  }
}
