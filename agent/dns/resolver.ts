// The pure in-memory resolver of the `clusterset.local` zone (Multicluster DNS spec
// v1.0.0). It holds records per imported service and answers questions from memory:
// answer, NXDOMAIN, NODATA or REFUSED. It never calls an API server and never sees a
// packet; the feeder (feeder.ts) writes it and the wire server (server.ts) reads it.
import { isIPv4, isIPv6 } from 'node:net';
import { isDeepStrictEqual } from 'node:util';

export const DEFAULT_ZONE = 'clusterset.local';
export const DNS_VERSION = '1.0.0';
const MAX_NAME = 253;
const MAX_LABEL = 63;

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'TXT' | 'SOA';

export interface SrvData { priority: number; weight: number; port: number; target: string }
export interface SoaData {
  mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number;
}

/** One resource record, shaped as dns-packet encodes it. */
export type ResourceRecord =
  | { name: string; type: 'A' | 'AAAA'; class: 'IN'; ttl: number; data: string }
  | { name: string; type: 'SRV'; class: 'IN'; ttl: number; data: SrvData }
  | { name: string; type: 'TXT'; class: 'IN'; ttl: number; data: string[] }
  | { name: string; type: 'SOA'; class: 'IN'; ttl: number; data: SoaData };

export interface Question { readonly name: string; readonly type: string }

export type Resolution =
  | { readonly kind: 'answer'; readonly answers: readonly ResourceRecord[] }
  | { readonly kind: 'nodata' }
  | { readonly kind: 'nxdomain' }
  | { readonly kind: 'refused' }
  /** In the zone, but the records are not known yet (feeder not synced). */
  | { readonly kind: 'servfail' };

export interface ServicePortRecord { readonly name?: string | undefined; readonly protocol: string; readonly port: number }

/** One ready endpoint of a headless service, in the order answers should list it. */
export interface HeadlessEndpoint {
  readonly cluster: string;
  readonly addresses: readonly string[];
  readonly hostname?: string | undefined;
  /** Target ports of its cluster, by port name (SRV of headless services). */
  readonly ports?: readonly ServicePortRecord[] | undefined;
}

export type ServiceRecords =
  | { readonly type: 'ClusterSetIP'; readonly ips: readonly string[]; readonly ports: readonly ServicePortRecord[] }
  | { readonly type: 'Headless'; readonly ports: readonly ServicePortRecord[]; readonly endpoints: readonly HeadlessEndpoint[] };

interface NameRecords { a: string[]; aaaa: string[]; srv: SrvData[] }

export interface ResolverOptions {
  readonly ttlSeconds: number;
  readonly zone?: string;
}

/** Lower-cases and strips one trailing dot: the resolver's canonical form of a name. */
export function canonicalName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.toLowerCase();
}

export function validName(name: string): boolean {
  if (name.length === 0 || name.length > MAX_NAME) return false;
  return name.split('.').every((l) => l.length > 0 && l.length <= MAX_LABEL);
}

export class Resolver {
  readonly zone: string;
  readonly ttl: number;
  readonly #names = new Map<string, NameRecords>();
  /** Names that exist only as ancestors of records (empty non-terminals): NODATA, not NXDOMAIN. */
  readonly #ancestors = new Map<string, number>();
  readonly #byService = new Map<string, string[]>();
  /** Service names whose records are not known yet: they and every name below them get SERVFAIL. */
  readonly #pending = new Set<string>();
  #version = 0;
  #ready = false;

  constructor(o: ResolverOptions) {
    this.zone = canonicalName(o.zone ?? DEFAULT_ZONE);
    this.ttl = o.ttlSeconds;
  }

  /** Bumped on every change; pre-encoded answers are valid for one version only. */
  get version(): number { return this.#version; }
  get ready(): boolean { return this.#ready; }

  /** Called by the feeder once its sources are synced; before that in-zone names get SERVFAIL. */
  markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.#changed();
  }

  serviceName(namespace: string, name: string): string {
    return `${name}.${namespace}.svc.${this.zone}`;
  }

  /**
   * Replaces every record of namespace/name; undefined removes the service; 'pending'
   * means it exists but its records are not known yet (SERVFAIL, which is not cached as
   * a negative answer).
   */
  setService(namespace: string, name: string, records: ServiceRecords | 'pending' | undefined): void {
    const key = `${namespace}/${name}`;
    const svcName = this.serviceName(namespace, name);
    const built = records && records !== 'pending' ? buildRecords(svcName, records) : new Map<string, NameRecords>();
    // The feeder rebuilds on every event (a ServiceImport status write, a catalog change
    // elsewhere in the service); one that changes nothing must not drop every pre-encoded answer.
    if (this.#pending.has(svcName) === (records === 'pending') && this.#holds(key, built)) return;
    for (const n of this.#byService.get(key) ?? []) this.#removeName(n);
    this.#byService.delete(key);
    this.#pending.delete(svcName);
    if (records === 'pending') this.#pending.add(svcName);
    for (const [n, r] of built) this.#addName(n, r);
    if (built.size > 0) this.#byService.set(key, [...built.keys()]);
    this.#changed();
  }

  /** True when service `key` has exactly the names and records in `built`, in the same order. */
  #holds(key: string, built: ReadonlyMap<string, NameRecords>): boolean {
    const names = this.#byService.get(key) ?? [];
    return names.length === built.size && names.every((n) => isDeepStrictEqual(this.#names.get(n), built.get(n)));
  }

  /** Every name that has records, for pre-encoding and tests. */
  names(): string[] {
    return [...this.#names.keys(), `dns-version.${this.zone}`, this.zone];
  }

  soa(): ResourceRecord {
    return {
      name: this.zone, type: 'SOA', class: 'IN', ttl: this.ttl,
      data: { mname: `ns.dns.${this.zone}`, rname: `hostmaster.${this.zone}`, serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  resolve(q: Question): Resolution {
    const name = canonicalName(q.name);
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) return { kind: 'refused' };
    if (!validName(name)) return { kind: 'nxdomain' };
    if (name === this.zone) return this.#apex(q.type);
    if (name === `dns-version.${this.zone}`) return this.#pick(q.type, { TXT: [this.#rr(name, 'TXT', [DNS_VERSION])] });
    if (!this.#ready) return { kind: 'servfail' };
    const r = this.#names.get(name);
    if (!r) {
      if (this.#pending.size > 0 && this.#isPending(name)) return { kind: 'servfail' };
      return this.#ancestors.has(name) ? { kind: 'nodata' } : { kind: 'nxdomain' };
    }
    return this.#pick(q.type, {
      A: r.a.map((ip) => this.#rr(name, 'A', ip)),
      AAAA: r.aaaa.map((ip) => this.#rr(name, 'AAAA', ip)),
      SRV: r.srv.map((s) => this.#rr(name, 'SRV', s)),
    });
  }

  #isPending(name: string): boolean {
    for (let n = name, i = 0; i >= 0; i = n.indexOf('.'), n = n.slice(i + 1)) {
      if (this.#pending.has(n)) return true;
    }
    return false;
  }

  #apex(type: string): Resolution {
    return this.#pick(type, { SOA: [this.soa()] });
  }

  #pick(type: string, byType: Partial<Record<RecordType, ResourceRecord[]>>): Resolution {
    const answers = type === 'ANY' ? Object.values(byType).flat() : (byType[type as RecordType] ?? []);
    return answers.length > 0 ? { kind: 'answer', answers } : { kind: 'nodata' };
  }

  #rr(name: string, type: RecordType, data: unknown): ResourceRecord {
    return { name, type, class: 'IN', ttl: this.ttl, data } as ResourceRecord;
  }

  #addName(name: string, r: NameRecords): void {
    const existing = this.#names.get(name);
    if (existing) {
      existing.a.push(...r.a);
      existing.aaaa.push(...r.aaaa);
      existing.srv.push(...r.srv);
      return;
    }
    this.#names.set(name, r);
    for (const a of ancestorsOf(name, this.zone)) this.#ancestors.set(a, (this.#ancestors.get(a) ?? 0) + 1);
  }

  #removeName(name: string): void {
    if (!this.#names.delete(name)) return;
    for (const a of ancestorsOf(name, this.zone)) {
      const n = (this.#ancestors.get(a) ?? 1) - 1;
      if (n === 0) this.#ancestors.delete(a);
      else this.#ancestors.set(a, n);
    }
  }

  #changed(): void {
    this.#version++;
  }
}

/** Proper ancestors of name strictly below the zone apex. */
function ancestorsOf(name: string, zone: string): string[] {
  const out: string[] = [];
  let n = name;
  for (let i = n.indexOf('.'); i >= 0; i = n.indexOf('.')) {
    n = n.slice(i + 1);
    if (n === zone) break;
    out.push(n);
  }
  return out;
}

function emptyRecords(): NameRecords {
  return { a: [], aaaa: [], srv: [] };
}

function addAddress(r: NameRecords, ip: string): void {
  if (isIPv4(ip)) r.a.push(ip);
  else if (isIPv6(ip)) r.aaaa.push(ip);
}

/** name → records for one service, following the spec's naming rules; over-long names are left out. */
function buildRecords(svcName: string, records: ServiceRecords): Map<string, NameRecords> {
  const out = new Map<string, NameRecords>();
  const at = (n: string) => {
    let r = out.get(n);
    if (!r) out.set(n, (r = emptyRecords()));
    return r;
  };
  const named = records.ports.filter((p): p is ServicePortRecord & { name: string } => Boolean(p.name));
  const srvName = (p: ServicePortRecord & { name: string }) => `_${p.name}._${p.protocol.toLowerCase()}.${svcName}`;
  if (records.type === 'ClusterSetIP') {
    if (records.ips.length === 0) return out;
    for (const ip of records.ips) addAddress(at(svcName), ip);
    for (const p of named) at(srvName(p)).srv.push({ priority: 0, weight: 100, port: p.port, target: svcName });
  } else {
    for (const ep of records.endpoints) {
      for (const ip of ep.addresses) addAddress(at(svcName), ip);
      if (!ep.hostname) continue;
      const host = `${ep.hostname}.${ep.cluster}.${svcName}`.toLowerCase();
      if (!validName(host)) continue;
      for (const ip of ep.addresses) addAddress(at(host), ip);
      for (const p of named) {
        const port = ep.ports?.find((tp) => tp.name === p.name && tp.protocol === p.protocol)?.port ?? p.port;
        at(srvName(p)).srv.push({ priority: 0, weight: 100, port, target: host });
      }
    }
  }
  for (const [n, r] of out) if (!validName(n) || (r.a.length + r.aaaa.length + r.srv.length === 0)) out.delete(n);
  return out;
}
