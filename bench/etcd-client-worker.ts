// One candidate etcd client of bench:etcd-client, in a process of its own so that its
// memory is measured alone: `node --expose-gc bench/etcd-client-worker.ts <etcd3|gateway>`
// with ETCD_BENCH (JSON: endpoint, prefix, ca/cert/key file paths, sizes) in the
// environment. Prints one JSON line of figures. The gateway candidate is what
// broker/etcd would do on the JSON gateway (undici, HTTP/2, base64 keys); the etcd3 one is
// the npm package's own builders on @grpc/grpc-js. Neither adds validation, so the two
// protocols and libraries are compared, not Plexus's code on top of them.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { roleLibraries } from './role-libraries.ts';

interface Spec {
  endpoint: string;
  prefix: string;
  ca: string; cert: string; key: string;
  samples: number;        // sequential puts / txns / watch events
  rangeKeys: number;      // keys written (by the concurrent writers) then ranged
  writers: number;        // concurrent writers
}

interface Candidate {
  put(key: string, value: string): Promise<number>;                 // → header revision
  cas(key: string, modRevision: number, value: string): Promise<{ succeeded: boolean; revision: number }>;
  watch(prefix: string, onKey: (key: string) => void): Promise<() => void>;
  range(prefix: string): Promise<number>;                           // → kvs decoded
  close(): Promise<void>;
}

const spec = JSON.parse(process.env.ETCD_BENCH ?? '') as Spec;
const which = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function rssBytes(): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(m![1]) * 1024;
}
function settledRss(): number {
  for (let i = 0; i < 3; i++) gc!();
  return rssBytes();
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const unb64 = (s: string): string => Buffer.from(s, 'base64').toString();
function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix);
  b[b.length - 1]! += 1;
  return b.toString('base64');
}

async function gatewayCandidate(): Promise<Candidate> {
  const { Agent, request } = await import('undici');
  const tls = { ca: readFileSync(spec.ca), cert: readFileSync(spec.cert), key: readFileSync(spec.key), minVersion: 'TLSv1.3' as const };
  const agent = new Agent({ allowH2: true, connect: tls });
  async function call<T>(path: string, body: unknown): Promise<T> {
    const res = await request(`${spec.endpoint}${path}`, { method: 'POST', body: JSON.stringify(body), dispatcher: agent });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path}: HTTP ${res.statusCode} ${text}`);
    return JSON.parse(text) as T;
  }
  type Header = { header: { revision: string } };
  return {
    async put(key, value) {
      return Number((await call<Header>('/v3/kv/put', { key: b64(key), value: b64(value) })).header.revision);
    },
    async cas(key, modRevision, value) {
      const r = await call<Header & { succeeded?: boolean }>('/v3/kv/txn', {
        compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: String(modRevision) }],
        success: [{ request_put: { key: b64(key), value: b64(value) } }],
      });
      return { succeeded: r.succeeded === true, revision: Number(r.header.revision) };
    },
    async watch(prefix, onKey) {
      const res = await request(`${spec.endpoint}/v3/watch`, {
        method: 'POST', dispatcher: agent, bodyTimeout: 0,
        body: JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix) } }),
      });
      let buf = '';
      let created!: () => void;
      const ready = new Promise<void>((r) => { created = r; });
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => {
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!line.trim()) continue;
          const msg = JSON.parse(line) as { result?: { created?: boolean; events?: { kv: { key: string } }[] } };
          if (msg.result?.created) created();
          for (const e of msg.result?.events ?? []) onKey(unb64(e.kv.key));
        }
      });
      res.body.on('error', () => {});
      await ready;
      return () => res.body.destroy();
    },
    async range(prefix) {
      const r = await call<{ kvs?: { key: string; value: string }[] }>('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix) });
      let n = 0;
      for (const kv of r.kvs ?? []) { unb64(kv.key); unb64(kv.value); n++; }
      return n;
    },
    async close() { await agent.close(); },
  };
}

// The slice of etcd3's API used here, typed locally: etcd3 is not a dependency (the gateway
// won), so typecheck must not need it; bench:etcd-client asks for it when it is absent.
interface Etcd3Kv { key: Buffer; value: Buffer }
interface Etcd3Put { value(v: string): Etcd3Put; exec(): Promise<{ header: { revision: string } }> }
interface Etcd3Client {
  put(key: string): Etcd3Put;
  if(key: string, target: 'Mod', op: '==', value: number): { then(op: Etcd3Put): { commit(): Promise<{ succeeded: boolean; header: { revision: string } }> } };
  watch(): { prefix(p: string): { create(): Promise<{ on(ev: 'put', fn: (kv: Etcd3Kv) => void): void; cancel(): Promise<void> }> } };
  getAll(): { prefix(p: string): { exec(): Promise<{ kvs: Etcd3Kv[] }> } };
  close(): void;
}
type Etcd3Ctor = new (o: { hosts: string[]; credentials: { rootCertificate: Buffer; certChain: Buffer; privateKey: Buffer } }) => Etcd3Client;

async function etcd3Candidate(): Promise<Candidate> {
  const name = 'etcd3';
  const { Etcd3 } = (await import(name)) as { Etcd3: Etcd3Ctor };
  const client = new Etcd3({
    hosts: [spec.endpoint],
    credentials: { rootCertificate: readFileSync(spec.ca), certChain: readFileSync(spec.cert), privateKey: readFileSync(spec.key) },
  });
  return {
    async put(key, value) { return Number((await client.put(key).value(value).exec()).header.revision); },
    async cas(key, modRevision, value) {
      const r = await client.if(key, 'Mod', '==', modRevision).then(client.put(key).value(value)).commit();
      return { succeeded: r.succeeded, revision: Number(r.header.revision) };
    },
    async watch(prefix, onKey) {
      const w = await client.watch().prefix(prefix).create();
      w.on('put', (kv) => onKey(kv.key.toString()));
      return () => { void w.cancel(); };
    },
    async range(prefix) {
      const r = await client.getAll().prefix(prefix).exec();
      let n = 0;
      for (const kv of r.kvs) { kv.key.toString(); kv.value.toString(); n++; }
      return n;
    },
    async close() { client.close(); },
  };
}

const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

// The baseline is a broker's floor: its libraries (undici among them) and TLS, since the
// broker serves HTTPS; what a candidate adds on top of that is what the broker would pay.
for (const lib of roleLibraries.broker!) await import(lib);
await import('node:tls');
const rssBefore = settledRss();
const heapBefore = process.memoryUsage().heapUsed;
const c = which === 'etcd3' ? await etcd3Candidate() : which === 'gateway' ? await gatewayCandidate() : undefined;
if (!c) throw new Error(`unknown candidate ${which}`);
const p = `${spec.prefix}/`;
await c.put(`${p}warm`, 'x');                                  // connect, TLS handshake
const rssLoaded = settledRss();
const heapLoaded = process.memoryUsage().heapUsed - heapBefore;

const put: number[] = [];
for (let i = 0; i < spec.samples; i++) {
  const t = performance.now();
  await c.put(`${p}put/${i % 50}`, `v${i}`);
  put.push(performance.now() - t);
}

const cas: number[] = [];
let rev = await c.put(`${p}cas`, 'v0');
let conflicts = 0;
for (let i = 0; i < spec.samples; i++) {
  const t = performance.now();
  const r = await c.cas(`${p}cas`, rev, `v${i + 1}`);
  cas.push(performance.now() - t);
  if (!r.succeeded) conflicts++;
  rev = r.revision;
}

const watchLat: number[] = [];
const waiting = new Map<string, () => void>();
const unwatch = await c.watch(`${p}w/`, (key) => waiting.get(key)?.());
for (let i = 0; i < spec.samples; i++) {
  const key = `${p}w/${i}`;
  const t = performance.now();
  const seen = new Promise<void>((r) => waiting.set(key, r));
  await c.put(key, 'x');
  await seen;
  watchLat.push(performance.now() - t);
  waiting.delete(key);
}
unwatch();

// 64 writers fill the range's prefix: the throughput figure.
let next = 0;
const tw = performance.now();
await Promise.all(Array.from({ length: spec.writers }, async () => {
  for (let i = next++; i < spec.rangeKeys; i = next++) {
    await c.put(`${p}r/${String(i).padStart(6, '0')}`, `{"service":"svc-${i}","endpoints":["10.0.0.${i % 250}"]}`);
  }
}));
const writeSeconds = (performance.now() - tw) / 1000;

const rangeMs: number[] = [];
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  const n = await c.range(`${p}r/`);
  rangeMs.push(performance.now() - t);
  if (n !== spec.rangeKeys) throw new Error(`range returned ${n} keys, wrote ${spec.rangeKeys}`);
}
const rssUsed = settledRss();
const heapUsed = process.memoryUsage().heapUsed - heapBefore;
await c.close();

process.stdout.write(JSON.stringify({
  which, put: sorted(put), cas: sorted(cas), watch: sorted(watchLat), range: sorted(rangeMs), conflicts,
  throughput: spec.rangeKeys / writeSeconds,
  rssBefore, rssLoaded, rssUsed, heapLoaded, heapUsed,
}) + '\n');
process.exit(0);
