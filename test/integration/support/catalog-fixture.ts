// Helpers for the service catalog tests: export specs, calls as a cluster, an NDJSON
// watch stream over real mTLS that collects events, and a broker restart on the same
// data directory (same clock) that the original TestBroker's stop() still cleans up.
import { pino } from 'pino';
import { Agent, request } from 'undici';
import { catalogPaths, watchEventSchema, type ExportSpecInput, type WatchEvent } from '../../../broker/api/catalog.ts';
import { parseBrokerConfig, type BrokerConfigInput } from '../../../broker/config.ts';
import { startBroker } from '../../../broker/main.ts';
import { waitFor } from '../../harness/wait-for.ts';
import { callBroker, type CallResult, type ClientIdentity, type TestBroker } from './broker-fixture.ts';

export const T0 = '2026-01-01T00:00:00Z';

export function exportSpec(cluster: string, namespace: string, name: string, o: Partial<ExportSpecInput> = {}): ExportSpecInput {
  return {
    cluster, namespace, name, createdAt: T0, type: 'ClusterSetIP',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }],
    endpoints: [{ addresses: ['10.1.0.1'] }],
    ...o,
  };
}

export interface ClusterClient {
  readonly id: string;
  readonly identity: ClientIdentity;
}

export function putExport(b: TestBroker, c: ClusterClient, spec: ExportSpecInput, path = catalogPaths.export(spec.namespace, spec.name)): Promise<CallResult> {
  return b.call(path, { method: 'PUT', body: spec, identity: c.identity });
}

export function withdrawExport(b: TestBroker, c: ClusterClient, namespace: string, name: string): Promise<CallResult> {
  return b.call(catalogPaths.export(namespace, name), { method: 'DELETE', identity: c.identity });
}

export function syncExports(b: TestBroker, c: ClusterClient, exports: ExportSpecInput[]): Promise<CallResult> {
  return b.call(catalogPaths.exports, { method: 'PUT', body: { exports }, identity: c.identity });
}

/** One GET /v1/watch stream: every line parsed with the wire schema and kept in order. */
export class WatchStream {
  readonly events: WatchEvent[] = [];
  readonly status: Promise<number>;
  readonly done: Promise<void>;
  #ended = false;
  readonly #dispatcher: Agent;
  readonly #abort = new AbortController();

  constructor(url: string, caPem: string, identity: ClientIdentity, since: number) {
    this.#dispatcher = new Agent({ connect: { ca: caPem, cert: identity.certPem, key: identity.keyPem } });
    let setStatus!: (s: number) => void;
    this.status = new Promise((r) => (setStatus = r));
    this.done = this.#read(new URL(catalogPaths.watch(since), url), setStatus);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Events other than bookmarks. */
  get changes(): WatchEvent[] {
    return this.events.filter((e) => e.type !== 'bookmark');
  }

  async #read(url: URL, setStatus: (s: number) => void): Promise<void> {
    try {
      const res = await request(url, { dispatcher: this.#dispatcher, signal: this.#abort.signal });
      setStatus(res.statusCode);
      let rest = '';
      for await (const chunk of res.body) {
        rest += (chunk as Buffer).toString('utf8');
        let nl;
        while ((nl = rest.indexOf('\n')) >= 0) {
          const line = rest.slice(0, nl);
          rest = rest.slice(nl + 1);
          if (line.trim() !== '') this.events.push(watchEventSchema.parse(JSON.parse(line)));
        }
      }
    } catch (err) {
      if (!this.#abort.signal.aborted) throw err;
    } finally {
      this.#ended = true;
    }
  }

  /** Polls until `pred` holds for the events received so far. */
  waitFor(pred: (events: WatchEvent[]) => boolean, what: string): Promise<true> {
    return waitFor(() => (pred(this.events) ? true : undefined), { what, timeoutMs: 10_000, intervalMs: 10 });
  }

  /** Waits for an event at or beyond `revision`. */
  waitForRevision(revision: number): Promise<true> {
    return this.waitFor((es) => es.some((e) => e.revision >= revision && e.type !== 'bookmark'), `an event at revision ${revision}`);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.done.catch(() => undefined);
    await this.#dispatcher.close().catch(() => undefined);
  }
}

export function watch(b: TestBroker, c: ClusterClient, since: number): WatchStream {
  return new WatchStream(b.url, b.caPem, c.identity, since);
}

/** Stops the broker and starts a new one on the same data dir and clock. */
export async function restartTestBroker(b: TestBroker, config: BrokerConfigInput = {}): Promise<TestBroker> {
  await b.broker.stop();
  const parsed = parseBrokerConfig({ dataDir: b.dataDir, listen: '127.0.0.1:0', logLevel: 'silent', ...config });
  const broker = await startBroker(parsed, { clock: b.clock, logger: pino({ level: 'silent' }) });
  return {
    ...b,
    url: broker.url,
    broker,
    call: (path, co) => callBroker(broker.url, b.caPem, path, co),
    async stop() {
      await broker.stop();
      await b.stop();
    },
  };
}
