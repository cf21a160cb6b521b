// Follows the broker's service catalog: GET /v1/catalog once, then GET /v1/watch?since=REV
// as an NDJSON stream, resuming from the last applied revision after every disconnect.
// A broker outage is not a deletion: this client never throws into the agent and never
// clears what it delivered; it keeps retrying with capped exponential backoff and full
// jitter. A stream that is silent for longer than `bookmarkTimeoutMs` (no event, no
// bookmark) is treated as dead and reconnected. On a `relist` event it fetches the
// snapshot again and hands it to the sink whole, so the sink can diff.
import type { Logger } from 'pino';
import { request } from 'undici';
import type { Dispatcher } from 'undici';
import {
  catalogPaths, catalogSnapshotSchema, watchEventSchema,
  type CatalogSnapshot, type WatchEvent,
} from '../../broker/api/catalog.ts';
import { checkHttpsUrl } from '../../broker/api/addresses.ts';
import { AgentError } from '../errors.ts';
import { RotatingDispatcher, type ClientTls } from './rotating-dispatcher.ts';
import type { AgentMetrics } from '../metrics/agent-metrics.ts';
import { backoffDelay, validateBackoff, type BackoffOptions } from '../timing/backoff.ts';
import { systemTimers, type TimerHandle, type Timers } from '../timing/clock.ts';

/** Where the stream goes (the agent's is watch-dispatcher.ts). A snapshot replaces everything; events are applied one by one. */
export interface CatalogSink {
  replace(snapshot: CatalogSnapshot): void;
  /** Every event but bookmark and relist: catalog changes, rbac, user-revoked. */
  apply(event: WatchEvent): void;
  /** A bookmark: the stream is at the broker's head, every event up to `revision` was applied. */
  current?(revision: number): void;
}

/** The two HTTP calls, as a seam: the default speaks HTTPS with undici. */
export interface CatalogTransport {
  snapshot(signal: AbortSignal): Promise<CatalogSnapshot>;
  /** Raw NDJSON lines of the watch stream; ends when the broker closes it. */
  watch(since: number, signal: AbortSignal): AsyncIterable<string>;
  /** New requests present `tls`; the open stream stays on its connection (rotation). */
  useIdentity?(tls: ClientTls): void;
  close(): Promise<void>;
}

export interface WatchClientOptions {
  sink: CatalogSink;
  logger: Logger;
  /** https://HOST:PORT of the broker; with trustBundle and clientCert unless transport is given. */
  baseUrl?: string;
  trustBundle?: string;
  clientCert?: { certPem: string; keyPem: string };
  transport?: CatalogTransport;
  timers?: Timers;
  /** Uniform in [0, 1); injected so tests get deterministic jitter. */
  random?: () => number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Silence on the stream for this long means the connection is dead. */
  bookmarkTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Records the stream's state and, for events that carry it, now − the broker's commit time. */
  metrics?: Pick<AgentMetrics, 'brokerConnected' | 'propagationDelay'>;
  /** Wall clock in ms, compared with the broker's `committedAt` (default Date.now). */
  now?: () => number;
}

export type WatchState = 'idle' | 'syncing' | 'watching' | 'backoff' | 'stopped';

export class WatchClient {
  readonly #sink: CatalogSink;
  readonly #log: Logger;
  readonly #transport: CatalogTransport;
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #backoff: BackoffOptions;
  readonly #bookmarkTimeoutMs: number;
  #revision: number | undefined;
  #state: WatchState = 'idle';
  #attempt = 0;
  #abort: AbortController | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  /** Set when the current attempt delivered anything: the next reconnect needs no backoff. */
  #progressed = false;
  #stopped = false;
  readonly #metrics: WatchClientOptions['metrics'];
  readonly #now: () => number;
  /** Wall-clock ms when the stream last closed (or the client was made); undefined while open. */
  #closedAt: number | undefined;

  constructor(o: WatchClientOptions) {
    const baseMs = positive(o.backoffInitialMs ?? 500, 'backoffInitialMs');
    const maxMs = positive(o.backoffMaxMs ?? 30_000, 'backoffMaxMs');
    this.#bookmarkTimeoutMs = positive(o.bookmarkTimeoutMs ?? 90_000, 'bookmarkTimeoutMs');
    if (maxMs < baseMs) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'backoffMaxMs must be at least backoffInitialMs');
    // Full jitter: a fleet cut off by one broker outage must not reconnect in step.
    this.#backoff = validateBackoff({ baseMs, maxMs, jitter: 1 });
    this.#sink = o.sink;
    this.#log = o.logger.child({ component: 'catalog-watch' });
    this.#timers = o.timers ?? systemTimers;
    this.#random = o.random ?? Math.random;
    this.#transport = o.transport ?? undiciCatalogTransport(o);
    this.#metrics = o.metrics;
    this.#now = o.now ?? Date.now;
    this.#closedAt = this.#now();
    this.#metrics?.brokerConnected.set(0);
  }

  /** True while a watch stream is open and has delivered its first line (the broker's bookmark). */
  get connected(): boolean { return this.#closedAt === undefined; }

  /** How long no stream has been open (0 while one is). */
  get disconnectedForMs(): number {
    return this.#closedAt === undefined ? 0 : Math.max(0, this.#now() - this.#closedAt);
  }

  #setConnected(open: boolean): void {
    if (open === this.connected) return;
    this.#closedAt = open ? undefined : this.#now();
    this.#metrics?.brokerConnected.set(open ? 1 : 0);
  }

  /** The last revision handed to the sink (undefined before the first snapshot). */
  get revision(): number | undefined { return this.#revision; }
  get state(): WatchState { return this.#state; }

  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run();
  }

  /**
   * The broker answers again (a lease renewal succeeded after failures): reconnect now
   * instead of waiting out a backoff that a long outage has grown to its cap. A no-op
   * unless backing off; if the attempt fails, backoff resumes where it was.
   */
  retryNow(): void {
    if (this.#state === 'backoff') this.#wake?.();
  }

  /** After a renewal or a trust-bundle change: later requests use `tls`; the open stream is kept. */
  useIdentity(tls: ClientTls): void {
    this.#transport.useIdentity?.(tls);
    // The failures being backed off from may have been the old certificate's (expired during
    // a broker outage): try the new one now rather than after the backoff.
    if (this.#state === 'backoff') this.#wake?.();
  }

  /** Ends the current request and the loop; the sink keeps its state. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#state = 'stopped';
    this.#abort?.abort(new AgentError('PLX_AGENT_STOPPED', 'watch client stopped'));
    this.#wake?.();
    await this.#loop;
    await this.#transport.close();
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      this.#progressed = false;
      try {
        const fresh = this.#revision === undefined;
        if (fresh) await this.#resync();
        const outcome = await this.#watchOnce(this.#revision!);
        if (outcome === 'relist') {
          this.#revision = undefined;
          // Relisting a revision that aged out is the protocol working: fetch the snapshot at
          // once. Only a relist straight after a fresh snapshot is a failure worth backing off.
          if (!fresh) this.#progressed = true;
        } else {
          this.#log.info({ revision: this.#revision }, 'broker closed the watch stream; resuming');
        }
      } catch (err) {
        if (this.#stopped) break;
        this.#log.warn({ err, revision: this.#revision, attempt: this.#attempt }, 'catalog watch failed; retrying');
      }
      if (this.#progressed) this.#attempt = 0;
      else await this.#sleep(this.#nextDelay());
    }
    this.#state = 'stopped';
  }

  async #resync(): Promise<void> {
    this.#state = 'syncing';
    const ac = this.#newAbort();
    const snapshot = await this.#transport.snapshot(ac.signal);
    this.#sink.replace(snapshot);
    this.#revision = snapshot.revision;
    this.#log.info({ revision: snapshot.revision, services: snapshot.services.length }, 'catalog snapshot applied');
  }

  async #watchOnce(since: number): Promise<'relist' | 'ended'> {
    this.#state = 'watching';
    const ac = this.#newAbort();
    let handle: TimerHandle;
    const arm = () => {
      if (handle !== undefined) this.#timers.clearTimeout(handle);
      handle = this.#timers.setTimeout(() => ac.abort(new AgentError('PLX_AGENT_BROKER_WATCH_STALLED',
        `no event or bookmark from the broker for ${this.#bookmarkTimeoutMs} ms`)), this.#bookmarkTimeoutMs);
    };
    arm();
    try {
      for await (const line of this.#transport.watch(since, ac.signal)) {
        arm();
        this.#setConnected(true);
        if (line.trim() === '') continue;
        const event = parseEvent(line);
        if (event.type === 'relist') {
          this.#log.info({ since: this.#revision, revision: event.revision }, 'broker asked for a relist');
          return 'relist';
        }
        this.#deliver(event);
        this.#progressed = true;
      }
      return 'ended';
    } catch (err) {
      throw ac.signal.aborted && ac.signal.reason instanceof AgentError ? ac.signal.reason : err;
    } finally {
      if (handle !== undefined) this.#timers.clearTimeout(handle);
      this.#setConnected(false);
    }
  }

  #deliver(event: WatchEvent): void {
    // Replays from a resumed stream are older than what we hold: skip them.
    if (this.#revision !== undefined && event.revision < this.#revision) return;
    if (event.type === 'bookmark') {
      this.#sink.current?.(event.revision);
    } else {
      this.#sink.apply(event);
      const committedAt = 'committedAt' in event ? event.committedAt : undefined;
      // Broker and agent clocks may differ a little: a negative delay counts as zero.
      if (committedAt !== undefined) this.#metrics?.propagationDelay.observe(Math.max(0, this.#now() - committedAt) / 1000);
    }
    this.#revision = event.revision;
  }

  #newAbort(): AbortController {
    const ac = new AbortController();
    this.#abort = ac;
    if (this.#stopped) ac.abort(new AgentError('PLX_AGENT_STOPPED', 'watch client stopped'));
    return ac;
  }

  /** Full jitter over a capped exponential (agent/timing/backoff.ts), never 0 ms (no busy loop). */
  #nextDelay(): number {
    this.#attempt += 1;
    return Math.max(1, backoffDelay(this.#attempt, this.#backoff, this.#random));
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#state = 'backoff';
    return new Promise((resolve) => {
      const handle = this.#timers.setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        this.#timers.clearTimeout(handle);
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', `${what} must be a positive number of milliseconds`);
  return n;
}

function parseEvent(line: string): WatchEvent {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', 'watch stream carried a line that is not JSON', { cause: err });
  }
  const parsed = watchEventSchema.safeParse(json);
  if (!parsed.success) {
    throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', `watch stream carried an invalid event: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** HTTPS (TLS 1.3, mTLS with the cluster identity) to the broker's catalog endpoints. */
export function undiciCatalogTransport(o: Pick<WatchClientOptions, 'baseUrl' | 'trustBundle' | 'clientCert' | 'requestTimeoutMs'>): CatalogTransport {
  if (!o.baseUrl || !o.trustBundle || !o.clientCert) {
    throw new AgentError('PLX_AGENT_BAD_ARGUMENT', 'the catalog watch needs baseUrl, trustBundle and clientCert (or a transport)');
  }
  const checked = checkHttpsUrl('broker URL', o.baseUrl);
  if (!checked.ok) throw new AgentError('PLX_AGENT_BAD_ARGUMENT', checked.message);
  const base = checked.url;
  const timeoutMs = o.requestTimeoutMs ?? 10_000;
  const tls = new RotatingDispatcher({ ...o.clientCert, trustBundle: o.trustBundle });
  const get = async (path: string, signal: AbortSignal, bodyTimeout: number): Promise<Dispatcher.ResponseData> => {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(new URL(path, base), { method: 'GET', dispatcher: tls.current, signal, headersTimeout: timeoutMs, bodyTimeout });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', `cannot reach broker at ${base.origin}: ${(err as Error).message}`, { cause: err });
    }
    if (res.statusCode !== 200) {
      const text = await res.body.text().catch(() => '');
      throw new AgentError('PLX_AGENT_BROKER_REJECTED', `broker answered ${path} with HTTP ${res.statusCode}: ${text.slice(0, 200)}`, { status: res.statusCode });
    }
    return res;
  };
  return {
    async snapshot(signal) {
      const res = await get(catalogPaths.catalog, signal, timeoutMs);
      const parsed = catalogSnapshotSchema.safeParse(await res.body.json());
      if (!parsed.success) throw new AgentError('PLX_AGENT_BROKER_PROTOCOL', `invalid catalog snapshot: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
      return parsed.data;
    },
    async *watch(since, signal) {
      // No body timeout: silence is judged by the bookmark watchdog, which aborts `signal`.
      const res = await get(catalogPaths.watch(since), signal, 0);
      yield* ndjsonLines(res.body);
    },
    useIdentity: (next) => tls.use(next),
    close: () => tls.close(),
  };
}

async function* ndjsonLines(body: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
    }
  }
  buffered += decoder.decode();
  if (buffered.trim() !== '') yield buffered;
}
