// The one place that talks HTTP to etcd's JSON gateway: TLS 1.3 with the replica's client
// certificate, HTTP/2 (one session per member), and failover across the member list.
//
// A call walks the members starting at the one that answered last, and keeps walking
// (rounds ~100 ms apart) until its deadline: that rides through a leader election, where
// members answer "no leader" for about a second. What may be retried on another member
// depends on whether etcd can have applied the request: a connection that never opened,
// or an answer "no leader", applied nothing; a write whose connection broke (or that timed
// out) after it was sent may have been applied, and is never re-sent: the caller gets
// PLX_BROKER_ETCD_OUTCOME_UNKNOWN and re-reads. Reads are retried on any failure.
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { z } from 'zod';
import { BrokerError } from '../errors.ts';
import { gatewayErrorSchema } from './etcd-wire.ts';

export interface EtcdTlsMaterial {
  readonly ca: string | Buffer;
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface EtcdTransportOptions {
  readonly endpoints: readonly string[];   // https://host:port of every member
  readonly tls: EtcdTlsMaterial;
  readonly dialTimeoutMs: number;          // TCP + TLS handshake of one member
  readonly requestTimeoutMs: number;       // one call, all members and retries included
}

/** How one attempt failed: whether another member may be tried. */
type Failure = { kind: 'not-sent' | 'maybe-applied' | 'rejected'; reason: string; grpcCode?: number };

// gRPC codes the gateway reports in its error body.
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE = 4;
// etcd errors (code 14) that say the proposal never entered the log.
const NOT_APPLIED = /no leader|not capable|too many requests|not enough started members|leader is not ready/i;
const CONNECT_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED']);

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return String(e?.code ?? e?.cause?.code ?? '');
}

function describe(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return code && !msg.includes(code) ? `${code} ${msg}` : msg;
}

/** Did the request certainly not reach etcd? Only connect-phase failures say so. */
function classifyThrown(err: unknown, write: boolean): Failure {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message : '';
  const syscall = (err as { syscall?: unknown; cause?: { syscall?: unknown } })?.syscall ?? (err as { cause?: { syscall?: unknown } })?.cause?.syscall;
  const notSent = CONNECT_CODES.has(code) || syscall === 'connect' || /before secure TLS connection was established/.test(msg) || code.startsWith('ERR_SSL');
  return { kind: notSent || !write ? 'not-sent' : 'maybe-applied', reason: describe(err) };
}

export class EtcdTransport {
  readonly endpoints: readonly string[];
  readonly #agent: Agent;
  readonly #o: EtcdTransportOptions;
  #current = 0;
  #closed = false;

  constructor(o: EtcdTransportOptions) {
    this.#o = o;
    this.endpoints = o.endpoints;
    this.#agent = new Agent({
      allowH2: true,
      connect: { ca: o.tls.ca, cert: o.tls.cert, key: o.tls.key, minVersion: 'TLSv1.3', timeout: o.dialTimeoutMs },
    });
  }

  /** The member the next call tries first (the last one that answered). */
  get currentEndpoint(): string { return this.endpoints[this.#current]!; }

  /**
   * POSTs body to path on a member and parses the answer with schema. `write` marks calls
   * that change etcd (see the header comment for what is retried).
   */
  async call<S extends z.ZodType>(path: string, body: unknown, schema: S, o: { write: boolean; timeoutMs?: number }): Promise<z.output<S>> {
    const text = await this.#withFailover(path, o, (endpoint, signal) => this.#attempt(endpoint, path, JSON.stringify(body), signal, o.write));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd ${path}: answer is not JSON`, { cause: err });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new BrokerError('PLX_BROKER_ETCD_BAD_RESPONSE', `etcd ${path}: unexpected answer (${first?.path.join('.') || 'body'}: ${first?.message})`);
    }
    return parsed.data;
  }

  /**
   * Opens a long-lived stream (a watch) on the first member that accepts it; `idleTimeoutMs`
   * (0: none) ends the stream when nothing arrives for that long.
   */
  async stream(path: string, body: string, o: { idleTimeoutMs: number; headers?: Record<string, string> }): Promise<{ endpoint: string; body: Readable }> {
    return this.#withFailover(path, { write: false }, async (endpoint, signal) => {
      // The call's deadline covers opening the stream only: the stream itself lives on
      // (with the deadline's signal attached, every watch was cut after requestTimeoutMs).
      const open = new AbortController();
      const onDeadline = (): void => open.abort(signal.reason);
      signal.addEventListener('abort', onDeadline, { once: true });
      let res;
      try {
        res = await request(`${endpoint}${path}`, {
          method: 'POST', body, dispatcher: this.#agent, signal: open.signal,
          headers: { 'content-type': 'application/json', ...o.headers },
          headersTimeout: this.#o.requestTimeoutMs, bodyTimeout: o.idleTimeoutMs,
        });
      } catch (err) {
        return { failure: classifyThrown(err, false) };
      } finally {
        signal.removeEventListener('abort', onDeadline);
      }
      if (res.statusCode !== 200) return { failure: await this.#statusFailure(res, false) };
      if (signal.aborted) {
        // The deadline passed while the headers arrived: #bounded has already given up on us.
        res.body.destroy();
        return { failure: { kind: 'not-sent', reason: 'opened after the deadline' } };
      }
      return { value: { endpoint, body: res.body } };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#agent.destroy();
  }

  async #attempt(endpoint: string, path: string, body: string, signal: AbortSignal, write: boolean): Promise<{ value?: string; failure?: Failure }> {
    let res;
    try {
      res = await request(`${endpoint}${path}`, {
        method: 'POST', body, dispatcher: this.#agent, signal,
        headers: { 'content-type': 'application/json' },
        headersTimeout: this.#o.requestTimeoutMs, bodyTimeout: this.#o.requestTimeoutMs,
      });
    } catch (err) {
      return { failure: classifyThrown(err, write) };
    }
    if (res.statusCode !== 200) return { failure: await this.#statusFailure(res, write) };
    try {
      return { value: await res.body.text() };
    } catch (err) {
      return { failure: classifyThrown(err, write) };
    }
  }

  async #statusFailure(res: Awaited<ReturnType<typeof request>>, write: boolean): Promise<Failure> {
    const text = await res.body.text().catch(() => '');
    let parsed: z.output<typeof gatewayErrorSchema> | undefined;
    try {
      const p = gatewayErrorSchema.safeParse(JSON.parse(text));
      if (p.success) parsed = p.data;
    } catch { /* not JSON: reported by status below */ }
    const reason = parsed ? `${parsed.message} (gRPC ${parsed.code})` : `HTTP ${res.statusCode}`;
    if (!parsed) return { kind: res.statusCode >= 500 ? 'not-sent' : 'rejected', reason };
    if (parsed.code === GRPC_UNAVAILABLE || parsed.code === GRPC_DEADLINE) {
      if (NOT_APPLIED.test(parsed.message) || !write) return { kind: 'not-sent', reason, grpcCode: parsed.code };
      return { kind: 'maybe-applied', reason, grpcCode: parsed.code };
    }
    return { kind: 'rejected', reason, grpcCode: parsed.code };
  }

  /** The attempt, or a timeout failure once ms passed (undici may not abort a pending TLS handshake at once). */
  async #bounded<T>(p: Promise<{ value?: T; failure?: Failure }>, ms: number, write: boolean): Promise<{ value?: T; failure?: Failure }> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<{ failure: Failure }>((resolve) => {
      timer = setTimeout(() => resolve({ failure: { kind: write ? 'maybe-applied' : 'not-sent', reason: `no answer within ${ms} ms` } }), ms);
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #withFailover<T>(path: string, o: { write: boolean; timeoutMs?: number },
    attempt: (endpoint: string, signal: AbortSignal) => Promise<{ value?: T; failure?: Failure }>): Promise<T> {
    if (this.#closed) throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd ${path}: the client is closed`);
    const deadline = Date.now() + (o.timeoutMs ?? this.#o.requestTimeoutMs);
    const failures = new Map<string, string>();
    for (let round = 0; ; round++) {
      for (let i = 0; i < this.endpoints.length; i++) {
        const index = (this.#current + i) % this.endpoints.length;
        const endpoint = this.endpoints[index]!;
        const remaining = deadline - Date.now();
        if (remaining <= 0) break;
        const r = await this.#bounded(attempt(endpoint, AbortSignal.timeout(remaining)), remaining, o.write);
        if (r.failure === undefined) {
          this.#current = index;
          return r.value as T;
        }
        const f = r.failure;
        if (f.kind === 'rejected') {
          throw new BrokerError('PLX_BROKER_ETCD_REQUEST_REJECTED', `etcd ${path} on ${endpoint}: ${f.reason}`, { details: { grpcCode: f.grpcCode } });
        }
        if (f.kind === 'maybe-applied') {
          this.#current = (index + 1) % this.endpoints.length;
          throw new BrokerError('PLX_BROKER_ETCD_OUTCOME_UNKNOWN', `etcd ${path} on ${endpoint}: ${f.reason}; the write may have been applied`);
        }
        failures.set(endpoint, f.reason);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || this.#closed) break;
      await delay(Math.min(remaining, 50 * (round + 1), 250));
    }
    const why = [...failures].map(([e, r]) => `${e}: ${r}`).join('; ');
    throw new BrokerError('PLX_BROKER_ETCD_UNAVAILABLE', `etcd ${path}: no member answered within ${o.timeoutMs ?? this.#o.requestTimeoutMs} ms (${why || 'deadline passed'})`);
  }
}
