// DNS over TCP (RFC 7766): framing, and the limits that keep a few clients from holding
// the server. Slots: each connection has a deadline to complete a frame once its first
// byte arrived (a byte trickled every few seconds no longer keeps it open), a cap per
// source address and a global cap; at either cap the connection that made the least
// recent progress (completed a query, or connected) is closed to make room, so new
// clients are answered while old ones are being closed. Memory: when the client does not
// read its replies (socket.write returns false), reading stops until 'drain'; a client
// that stays blocked for the idle timeout is closed.
import type net from 'node:net';

export interface TcpLimits {
  /** A connection with no frame in progress and no reply waiting is closed after this long. */
  readonly idleTimeoutMs: number;
  /** From the first byte of a frame to its last; past it the connection is closed. */
  readonly frameTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerSource: number;
}

export const DEFAULT_TCP_LIMITS: TcpLimits = Object.freeze({
  idleTimeoutMs: 10_000,
  frameTimeoutMs: 2_000,
  maxConnections: 512,
  maxConnectionsPerSource: 64,
});

export interface TcpStats {
  readonly connections: number;
  /** Connections not read from until the client takes its replies. */
  readonly paused: number;
  /** Bytes held for clients: replies not yet taken plus received bytes not yet answered. */
  readonly bufferedBytes: number;
  /** Closed to make room for a new one, at the global or the per-source cap. */
  readonly evicted: number;
  readonly frameTimeouts: number;
}

interface Conn {
  readonly socket: net.Socket;
  readonly source: string;
  pending: Buffer;
  paused: boolean;
  /** The frame deadline, or while paused the deadline for the client to take its replies. */
  timer: NodeJS.Timeout | undefined;
}

const EMPTY = Buffer.alloc(0);

export class TcpConnections {
  readonly #limits: TcpLimits;
  readonly #answer: (msg: Buffer) => Buffer | undefined;
  /** Least recent progress first: a connection moves to the end when it completes a query. */
  readonly #conns = new Map<net.Socket, Conn>();
  readonly #perSource = new Map<string, number>();
  #evicted = 0;
  #frameTimeouts = 0;

  constructor(limits: TcpLimits, answer: (msg: Buffer) => Buffer | undefined) {
    this.#limits = limits;
    this.#answer = answer;
  }

  stats(): TcpStats {
    let paused = 0;
    let bufferedBytes = 0;
    for (const c of this.#conns.values()) {
      if (c.paused) paused++;
      bufferedBytes += c.pending.length + c.socket.writableLength;
    }
    return { connections: this.#conns.size, paused, bufferedBytes, evicted: this.#evicted, frameTimeouts: this.#frameTimeouts };
  }

  accept(socket: net.Socket): void {
    const source = socket.remoteAddress ?? '';
    if ((this.#perSource.get(source) ?? 0) >= this.#limits.maxConnectionsPerSource) this.#evictOne(source);
    if (this.#conns.size >= this.#limits.maxConnections) this.#evictOne(undefined);
    const c: Conn = { socket, source, pending: EMPTY, paused: false, timer: undefined };
    this.#conns.set(socket, c);
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    socket.setTimeout(this.#limits.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.#forget(c));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      c.pending = c.pending.length === 0 ? chunk : Buffer.concat([c.pending, chunk]);
      // A chunk read before pause() took effect waits with the rest.
      if (!c.paused) this.#serve(c);
    });
    socket.on('drain', () => {
      if (!c.paused) return;
      c.paused = false;
      this.#clearTimer(c);
      this.#serve(c);
      if (!c.paused) socket.resume();
    });
  }

  closeAll(): void {
    for (const s of this.#conns.keys()) s.destroy();
  }

  /** Answers every complete frame, in order, until the client stops taking replies. */
  #serve(c: Conn): void {
    const s = c.socket;
    while (c.pending.length >= 2) {
      const len = c.pending.readUInt16BE(0);
      if (c.pending.length < 2 + len) break;
      const msg = c.pending.subarray(2, 2 + len);
      c.pending = c.pending.subarray(2 + len);
      this.#clearTimer(c);
      this.#conns.delete(s);
      this.#conns.set(s, c);
      const out = this.#answer(msg);
      if (!out) continue;
      const frame = Buffer.allocUnsafe(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      if (!s.write(frame)) {
        c.paused = true;
        s.pause();
        c.timer = setTimeout(() => s.destroy(), this.#limits.idleTimeoutMs);
        return;
      }
    }
    if (c.pending.length > 0 && !c.timer) {
      c.timer = setTimeout(() => {
        this.#frameTimeouts++;
        s.destroy();
      }, this.#limits.frameTimeoutMs);
    }
  }

  /** Closes the connection with the least recent progress (of `source`, when given). */
  #evictOne(source: string | undefined): void {
    for (const c of this.#conns.values()) {
      if (source !== undefined && c.source !== source) continue;
      this.#evicted++;
      c.socket.destroy();
      // 'close' comes later; the slot is free now.
      this.#forget(c);
      return;
    }
  }

  #forget(c: Conn): void {
    this.#clearTimer(c);
    if (!this.#conns.delete(c.socket)) return;
    const n = (this.#perSource.get(c.source) ?? 1) - 1;
    if (n === 0) this.#perSource.delete(c.source);
    else this.#perSource.set(c.source, n);
  }

  #clearTimer(c: Conn): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = undefined;
  }
}
