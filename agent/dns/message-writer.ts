// Writes one DNS reply message with name compression (RFC 1035 §4.1.4): a name, or its
// tail, already written at offset < 0x4000 is replaced by a 2-byte pointer to it. Without
// it a headless service with 27 endpoints did not fit 1232 bytes (each A record repeated
// the ~30-byte owner name); with it an A record costs 16 bytes.
//
// Owner names, NS and SOA names are compressed; SRV targets are written whole (RFC 2782
// forbids compressing them) and are not pointed at. The question, written first, seeds the
// dictionary with the lower-cased text of its text-safe tails, so the offsets pointed at
// depend only on the question's length and text, never on its case: the pre-encoded path
// (answer-cache.ts) patches the question bytes into a copy and stays byte-identical.
import { isIPv4 } from 'node:net';
import { HEADER_BYTES } from './query.ts';
import type { ResourceRecord } from './resolver.ts';

const TYPE_CODE: Record<ResourceRecord['type'], number> = { A: 1, NS: 2, SOA: 6, TXT: 16, AAAA: 28, SRV: 33 };
const TYPE_OPT = 41;
const CLASS_IN = 1;
const MAX_POINTER = 0x3fff;

export interface OptRecord { readonly udpPayloadSize: number; readonly extendedRcode: number; readonly version: number; readonly flags: number }

export class MessageWriter {
  #buf: Buffer;
  #o = 0;
  readonly #names = new Map<string, number>();

  constructor(sizeHint = 512) {
    this.#buf = Buffer.alloc(Math.max(sizeHint, HEADER_BYTES));
  }

  get length(): number { return this.#o; }

  /** Header with QDCOUNT `qd`; the counts after it are set by `counts`. */
  header(id: number, flags: number, qd = 1): void {
    this.#u16(id);
    this.#u16(flags);
    this.#u16(qd);
    this.#u16(0);
    this.#u16(0);
    this.#u16(0);
  }

  counts(an: number, ns: number, ar: number): void {
    this.#buf.writeUInt16BE(an, 6);
    this.#buf.writeUInt16BE(ns, 8);
    this.#buf.writeUInt16BE(ar, 10);
  }

  /** The question as asked (raw name bytes); its text-safe tails become pointer targets. */
  question(qnameWire: Buffer, qtype: number, qclass: number): void {
    const start = this.#o;
    this.#bytes(qnameWire);
    this.#u16(qtype);
    this.#u16(qclass);
    const labels: { offset: number; text: string }[] = [];
    for (let o = 0; o < qnameWire.length && qnameWire[o]! > 0; o += 1 + qnameWire[o]!) {
      const text = qnameWire.toString('latin1', o + 1, o + 1 + qnameWire[o]!).toLowerCase();
      // A label that cannot be written as text (a dot, a byte outside printable ASCII) ends what can be pointed at.
      if (!/^[\x21-\x7e]+$/.test(text) || text.includes('.') || text.includes('\\')) labels.length = 0;
      else labels.push({ offset: start + o, text });
    }
    for (let i = 0; i < labels.length; i++) {
      const tail = labels.slice(i).map((l) => l.text).join('.');
      if (!this.#names.has(tail) && labels[i]!.offset <= MAX_POINTER) this.#names.set(tail, labels[i]!.offset);
    }
  }

  record(rr: ResourceRecord): void {
    this.#name(rr.name, true);
    this.#u16(TYPE_CODE[rr.type]);
    this.#u16(CLASS_IN);
    this.#u32(rr.ttl);
    const lenAt = this.#o;
    this.#u16(0);
    switch (rr.type) {
      case 'A': case 'AAAA': this.#address(rr.data); break;
      case 'NS': this.#name(rr.data, true); break;
      case 'SRV':
        this.#u16(rr.data.priority);
        this.#u16(rr.data.weight);
        this.#u16(rr.data.port);
        this.#name(rr.data.target, false);
        break;
      case 'TXT':
        for (const s of rr.data) {
          const b = Buffer.from(s, 'utf8');
          this.#u8(b.length);
          this.#bytes(b);
        }
        break;
      case 'SOA':
        this.#name(rr.data.mname, true);
        this.#name(rr.data.rname, true);
        for (const v of [rr.data.serial, rr.data.refresh, rr.data.retry, rr.data.expire, rr.data.minimum]) this.#u32(v);
        break;
    }
    this.#buf.writeUInt16BE(this.#o - lenAt - 2, lenAt);
  }

  /** The EDNS(0) OPT pseudo-record (RFC 6891 §6.1.2): root owner, class = payload size, TTL = ext-rcode, version, flags. */
  opt(o: OptRecord): void {
    this.#u8(0);
    this.#u16(TYPE_OPT);
    this.#u16(o.udpPayloadSize);
    this.#u8(o.extendedRcode);
    this.#u8(o.version);
    this.#u16(o.flags);
    this.#u16(0);
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#o);
  }

  /** A name in canonical text (no trailing dot; `.` or empty is the root). */
  #name(name: string, compress: boolean): void {
    const labels = name === '.' || name === '' ? [] : name.split('.');
    for (let i = 0; i < labels.length; i++) {
      if (compress) {
        const tail = labels.slice(i).join('.').toLowerCase();
        const at = this.#names.get(tail);
        if (at !== undefined) {
          this.#u16(0xc000 | at);
          return;
        }
        if (this.#o <= MAX_POINTER) this.#names.set(tail, this.#o);
      }
      const b = Buffer.from(labels[i]!, 'latin1');
      this.#u8(b.length);
      this.#bytes(b);
    }
    this.#u8(0);
  }

  #address(ip: string): void {
    if (isIPv4(ip)) {
      for (const part of ip.split('.')) this.#u8(Number(part));
      return;
    }
    for (const g of ipv6Groups(ip)) this.#u16(g);
  }

  #room(n: number): void {
    if (this.#o + n <= this.#buf.length) return;
    const next = Buffer.alloc(Math.max(this.#buf.length * 2, this.#o + n));
    this.#buf.copy(next, 0, 0, this.#o);
    this.#buf = next;
  }

  #u8(v: number): void { this.#room(1); this.#buf[this.#o++] = v; }
  #u16(v: number): void { this.#room(2); this.#buf.writeUInt16BE(v, this.#o); this.#o += 2; }
  #u32(v: number): void { this.#room(4); this.#buf.writeUInt32BE(v >>> 0, this.#o); this.#o += 4; }
  #bytes(b: Buffer): void { this.#room(b.length); b.copy(this.#buf, this.#o); this.#o += b.length; }
}

/** The eight 16-bit groups of a valid IPv6 address (`::` and a dotted IPv4 tail included). */
export function ipv6Groups(ip: string): number[] {
  let s = ip;
  const dot = s.lastIndexOf('.');
  if (dot >= 0) {
    const colon = s.lastIndexOf(':');
    const [a, b, c, d] = s.slice(colon + 1).split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => parseInt(g, 16));
}
