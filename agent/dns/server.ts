// The thin wire server for `clusterset.local`: UDP and TCP on one address, one packet
// handler for both. It parses, asks the resolver (through the pre-encoded cache or the
// plain path), truncates for UDP, and never throws: a packet that breaks anything gets
// FORMERR or is dropped. No answer ever waits on an API server. TCP framing and its
// limits (deadlines, caps, backpressure) are in tcp-connections.ts.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from 'pino';
import { AnswerCache } from './answer-cache.ts';
import { DEFAULT_TCP_LIMITS, TcpConnections, type TcpStats } from './tcp-connections.ts';
import { parseQuery } from './query.ts';
import { RCODE, errorReply, plainReply, type ReplyConfig } from './reply.ts';
import type { Resolver } from './resolver.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';

export interface DnsServerOptions {
  readonly resolver: Resolver;
  readonly logger: Logger;
  /** Advertised in OPT replies; also the most sent over UDP. Default 4096: a reply fills the
   *  size the client advertised (up to this), so a client that asks for 4096 gets it untruncated;
   *  clients on fragment-hostile paths advertise 1232 (DNS flag day 2020) and get that. */
  readonly udpPayloadSize?: number;
  /** Serve names that exist from pre-encoded replies (default true); false keeps only the plain path. */
  readonly preEncoded?: boolean;
  /** A TCP connection idle this long is closed (default 10 s). */
  readonly tcpIdleTimeoutMs?: number;
  /** From the first byte of a TCP frame to its last (default 2 s); a slower sender is closed. */
  readonly tcpFrameTimeoutMs?: number;
  /** At this many TCP connections (default 512) the one with the least recent progress is closed for a new one. */
  readonly maxTcpConnections?: number;
  /** The same per source address (default 64). */
  readonly maxTcpConnectionsPerSource?: number;
  /** Answers by rcode and transport (a typed-array tally), and the time from parse to reply. */
  readonly metrics?: Pick<AgentMetrics, 'dnsAnswers' | 'dnsDuration'> | undefined;
}

export interface DnsAddress { readonly host: string; readonly port: number }

export class DnsServer {
  readonly #resolver: Resolver;
  readonly #log: Logger;
  readonly #cfg: ReplyConfig;
  readonly #cache: AnswerCache | undefined;
  readonly #tcpConns: TcpConnections;
  #udp: dgram.Socket | undefined;
  #tcp: net.Server | undefined;
  #address: DnsAddress | undefined;
  readonly #answers: Float64Array | undefined;
  readonly #duration: AgentMetrics['dnsDuration'] | undefined;

  constructor(o: DnsServerOptions) {
    this.#resolver = o.resolver;
    this.#log = o.logger;
    this.#cfg = { udpPayloadSize: o.udpPayloadSize ?? 4096 };
    this.#cache = o.preEncoded === false ? undefined : new AnswerCache(o.resolver, this.#cfg);
    const d = DEFAULT_TCP_LIMITS;
    this.#tcpConns = new TcpConnections({
      idleTimeoutMs: o.tcpIdleTimeoutMs ?? d.idleTimeoutMs,
      frameTimeoutMs: o.tcpFrameTimeoutMs ?? d.frameTimeoutMs,
      maxConnections: o.maxTcpConnections ?? d.maxConnections,
      maxConnectionsPerSource: o.maxTcpConnectionsPerSource ?? d.maxConnectionsPerSource,
    }, (msg) => this.handle(msg, 'tcp'));
    this.#answers = o.metrics?.dnsAnswers;
    this.#duration = o.metrics?.dnsDuration;
  }

  /** TCP connections, paused readers and bytes held for them (tests, metrics). */
  tcpStats(): TcpStats {
    return this.#tcpConns.stats();
  }

  get address(): DnsAddress {
    if (!this.#address) throw new Error('DNS server is not listening');
    return this.#address;
  }

  /**
   * The packet handler shared by UDP and TCP: a reply, or undefined to send nothing.
   * Never throws.
   */
  handle(packet: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    const answers = this.#answers;
    if (!answers) return this.#answer(packet, transport);
    // Measured on every query, so it stays cheap: no allocation, no label lookup (see HotHistogram).
    const started = performance.now();
    const out = this.#answer(packet, transport);
    if (out !== undefined && out.length >= 4) {
      answers[(transport === 'udp' ? 0 : 16) + (out[3]! & 0x0f)]!++;
      this.#duration!.observe((performance.now() - started) / 1000);
    }
    return out;
  }

  #answer(packet: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
    try {
      const parsed = parseQuery(packet);
      if (!parsed.ok) {
        if (parsed.reply === 'drop') return undefined;
        return errorReply(parsed.id, parsed.opcode, parsed.rd, parsed.reply === 'notimp' ? RCODE.NOTIMP : RCODE.FORMERR, parsed.edns, this.#cfg);
      }
      return this.#cache?.reply(parsed.query, transport) ?? plainReply(parsed.query, this.#resolver, this.#cfg, transport);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'DNS packet handler failed; answering SERVFAIL');
      return packet.length >= 12 ? errorReply(packet.readUInt16BE(0), 0, false, RCODE.SERVFAIL) : undefined;
    }
  }

  /**
   * Binds UDP and TCP on host:port. With port 0, TCP takes the port the UDP bind got; if
   * that TCP port is taken, both try again on a new port.
   */
  async listen(host: string, port: number): Promise<DnsAddress> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#listenOnce(host, port);
      } catch (err) {
        if (port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  }

  async #listenOnce(host: string, port: number): Promise<DnsAddress> {
    const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    udp.on('message', (msg, rinfo) => {
      const out = this.handle(msg, 'udp');
      if (out) udp.send(out, rinfo.port, rinfo.address);
    });
    udp.on('error', (err) => this.#log.warn({ err: err.message }, 'DNS UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address: host, port }, () => { udp.off('error', reject); resolve(); });
    });
    const bound = udp.address().port;
    // No maxConnections: at the cap TcpConnections closes an old connection instead of refusing the new one.
    const tcp = net.createServer((socket) => this.#tcpConns.accept(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host, port: bound, exclusive: true }, () => { tcp.off('error', reject); resolve(); });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    tcp.on('error', (err) => this.#log.warn({ err: err.message }, 'DNS TCP server error'));
    this.#udp = udp;
    this.#tcp = tcp;
    this.#address = { host, port: bound };
    return this.#address;
  }

  async close(): Promise<void> {
    const udp = this.#udp;
    const tcp = this.#tcp;
    this.#udp = undefined;
    this.#tcp = undefined;
    this.#tcpConns.closeAll();
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }
}
