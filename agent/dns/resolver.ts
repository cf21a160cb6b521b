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

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'TXT' | 'SOA' | 'NS';

export interface SrvData { priority: number; weight: number; port: number; target: string }
export interface SoaData {
  mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number;
}

/** One resource record, shaped as dns-packet encodes it. */
export type ResourceRecord =
  | { name: string; type: 'A' | 'AAAA' | 'NS'; class: 'IN'; ttl: number; data: string }
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
  /**
   * Addresses of `ns.dns.<zone>`, the apex NS (and SOA mname): where this server answers.
   * The wiring passes the listen address, or the host's addresses for a wildcard bind.
   */
  readonly nameservers?: readonly string[];
  /** Clock for the SOA serial (unix seconds at the latest change); default Date.now. */
  readonly now?: () => number;
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
  readonly #nameservers: NameRecords;
  readonly #now: () => number;
  #version = 0;
  #serial: number;
  #ready = false;

  constructor(o: ResolverOptions) {
    this.zone = canonicalName(o.zone ?? DEFAULT_ZONE);
    this.ttl = o.ttlSeconds;
    this.#nameservers = emptyRecords();
    for (const ip of o.nameservers ?? []) addAddress(this.#nameservers, ip);
    this.#now = o.now ?? Date.now;
    this.#serial = this.#clockSerial();
  }

  /** The nameserver's name: the apex NS, the SOA mname; its A/AAAA are `nameservers`. */
  get nameserver(): string { return `ns.dns.${this.zone}`; }

  /**
   * The SOA serial: changes with every change of the zone and only grows (RFC 1982
   * arithmetic), across restarts too, as it is the time of the latest change in unix
   * seconds, or one more than the last serial when changes come faster than one a second.
   */
  get serial(): number { return this.#serial; }

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
    return [...this.#names.keys(), `dns-version.${this.zone}`, this.nameserver, this.zone];
  }

  soa(): ResourceRecord {
    return {
      name: this.zone, type: 'SOA', class: 'IN', ttl: this.ttl,
      data: { mname: this.nameserver, rname: `hostmaster.${this.zone}`, serial: this.#serial, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  resolve(q: Question): Resolution {
    const name = canonicalName(q.name);
    if (name !== this.zone && !name.endsWith(`.${this.zone}`)) return { kind: 'refused' };
    if (!validName(name)) return { kind: 'nxdomain' };
    if (name === this.zone) return this.#apex(q.type);
    if (name === `dns-version.${this.zone}`) return this.#pick(q.type, { TXT: [this.#rr(name, 'TXT', [DNS_VERSION])] });
    if (name === this.nameserver) return this.#records(name, this.#nameservers, q.type);
    if (name === `dns.${this.zone}`) return { kind: 'nodata' };
    if (!this.#ready) return { kind: 'servfail' };
    const r = this.#names.get(name);
    if (!r) {
      if (this.#pending.size > 0 && this.#isPending(name)) return { kind: 'servfail' };
      return this.#ancestors.has(name) ? { kind: 'nodata' } : { kind: 'nxdomain' };
    }
    return this.#records(name, r, q.type);
  }

  #records(name: string, r: NameRecords, type: string): Resolution {
    return this.#pick(type, {
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
    return this.#pick(type, { SOA: [this.soa()], NS: [this.#rr(this.zone, 'NS', this.nameserver)] });
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
    this.#serial = Math.max(this.#serial + 1, this.#clockSerial()) >>> 0;
  }

  #clockSerial(): number {
    return Math.floor(this.#now() / 1000) >>> 0;
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

/** SRV records are a set: the same target and port twice (a dual-stack pair, TCP and UDP on one port) is one record. */
function addSrv(r: NameRecords, srv: SrvData): void {
  if (!r.srv.some((s) => s.port === srv.port && s.target === srv.target)) r.srv.push(srv);
}

/** The per-host label of an endpoint without a hostname: its address with `.` or `:` as `-` (`10-1-2-3`), as CoreDNS and the MCS conformance suite name them. */
export function addressLabel(ip: string): string {
  return ip.replace(/[.:]/g, '-');
}

/** One per-host name of a headless service: its label under `<cluster>.<svc>…`, the addresses it holds, its endpoint's ports. */
interface HostEntry { readonly cluster: string; readonly label: string; readonly addresses: readonly string[]; readonly ports: HeadlessEndpoint['ports'] }

const family = (ip: string) => (isIPv4(ip) ? 4 : 6);

/**
 * Per-host names, in endpoint order. A hostname names its endpoint unless, within its
 * cluster, two endpoints with different addresses of one family carry it (a dual-stack pod
 * shows up once per family and keeps its name): then those endpoints, like endpoints
 * without a hostname, get one name per address. An address name that equals a hostname
 * in use in its cluster is left out, so no name ever holds two endpoints.
 */
function hostEntries(endpoints: readonly HeadlessEndpoint[]): HostEntry[] {
  const byHost = new Map<string, HeadlessEndpoint[]>();
  for (const ep of endpoints) {
    if (!ep.hostname) continue;
    const key = `${ep.cluster}/${ep.hostname.toLowerCase()}`;
    byHost.set(key, [...(byHost.get(key) ?? []), ep]);
  }
  const ambiguous = new Set<string>();
  for (const [key, eps] of byHost) {
    const seen = new Map<number, string>();
    for (const ep of eps) {
      for (const ip of ep.addresses) {
        const other = seen.get(family(ip));
        if (other !== undefined && !ep.addresses.includes(other)) ambiguous.add(key);
        seen.set(family(ip), ip);
      }
    }
  }
  const out: HostEntry[] = [];
  for (const ep of endpoints) {
    const key = ep.hostname ? `${ep.cluster}/${ep.hostname.toLowerCase()}` : '';
    if (ep.hostname && !ambiguous.has(key)) {
      out.push({ cluster: ep.cluster, label: ep.hostname, addresses: ep.addresses, ports: ep.ports });
      continue;
    }
    for (const ip of ep.addresses) {
      const label = addressLabel(ip);
      const taken = byHost.has(`${ep.cluster}/${label}`) && !ambiguous.has(`${ep.cluster}/${label}`);
      if (!taken) out.push({ cluster: ep.cluster, label, addresses: [ip], ports: ep.ports });
    }
  }
  return out;
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
  const srv = (port: number, target: string): SrvData => ({ priority: 0, weight: 100, port, target });
  if (records.type === 'ClusterSetIP') {
    if (records.ips.length === 0) return out;
    for (const ip of records.ips) addAddress(at(svcName), ip);
    for (const p of named) addSrv(at(srvName(p)), srv(p.port, svcName));
    // SRV on the service name itself: every port, named or not (CoreDNS's cluster.local, the conformance suite).
    for (const p of records.ports) addSrv(at(svcName), srv(p.port, svcName));
  } else {
    for (const ep of records.endpoints) for (const ip of ep.addresses) addAddress(at(svcName), ip);
    for (const h of hostEntries(records.endpoints)) {
      const host = `${h.label}.${h.cluster}.${svcName}`.toLowerCase();
      if (!validName(host)) continue;
      for (const ip of h.addresses) addAddress(at(host), ip);
      const targetPort = (p: ServicePortRecord) => h.ports?.find((tp) => tp.name === p.name && tp.protocol === p.protocol)?.port ?? p.port;
      for (const p of named) addSrv(at(srvName(p)), srv(targetPort(p), host));
      if (out.has(svcName)) for (const p of records.ports) addSrv(at(svcName), srv(targetPort(p), host));
    }
  }
  for (const [n, r] of out) if (!validName(n) || (r.a.length + r.aaaa.length + r.srv.length === 0)) out.delete(n);
  return out;
}
