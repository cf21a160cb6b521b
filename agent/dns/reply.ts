// The plain answer path: parsed query → resolver → dns-packet → bytes. This is the
// reference the pre-encoded path (answer-cache.ts) must match byte for byte. The question
// is echoed as the raw bytes that arrived (case and all); everything after it is encoded
// by dns-packet.
import dnsPacket, { type Answer } from 'dns-packet';
import { CLASS_IN, HEADER_BYTES, type ParsedQuery } from './query.ts';
import type { Resolution, Resolver } from './resolver.ts';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** BADVERS (16) lives in the OPT record's extended rcode: 16 >> 4. */
const EXT_RCODE_BADVERS = 1;
const CLASS_ANY = 255;
const FLAG_QR = 0x8000;
const FLAG_AA = 0x0400;
const FLAG_TC = 0x0200;
const FLAG_RD = 0x0100;
const DO_BIT = 0x8000;
export const MIN_UDP = 512;
export const MAX_TCP = 65_535;

const TYPE_NAMES: Record<number, string> = { 1: 'A', 2: 'NS', 6: 'SOA', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 255: 'ANY' };

/** The resolver's name for a query type; types it never holds map to a name that matches nothing. */
export function typeName(qtype: number): string {
  return TYPE_NAMES[qtype] ?? `TYPE${qtype}`;
}

export interface ReplyConfig {
  /** The UDP payload size this server advertises in its OPT record, and the most it sends. */
  readonly udpPayloadSize: number;
}

/** Largest reply the client can take over this transport. */
export function replyLimit(q: ParsedQuery, transport: 'udp' | 'tcp', cfg: ReplyConfig): number {
  if (transport === 'tcp') return MAX_TCP;
  if (!q.edns) return MIN_UDP;
  return Math.max(MIN_UDP, Math.min(q.edns.udpSize, cfg.udpPayloadSize));
}

type Outcome = Resolution | { readonly kind: 'badvers' };

export function resolveQuery(q: ParsedQuery, resolver: Resolver): Outcome {
  if (q.edns && q.edns.version !== 0) return { kind: 'badvers' };
  if (q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY) return { kind: 'refused' };
  return resolver.resolve({ name: q.qname, type: typeName(q.qtype) });
}

function rcodeOf(o: Outcome): number {
  switch (o.kind) {
    case 'nxdomain': return RCODE.NXDOMAIN;
    case 'refused': return RCODE.REFUSED;
    case 'servfail': return RCODE.SERVFAIL;
    default: return RCODE.NOERROR;
  }
}

/** The reply for a parsed query; `truncated` drops every record but OPT and sets TC. */
export function encodeReply(q: ParsedQuery, outcome: Outcome, resolver: Resolver, cfg: ReplyConfig, truncated = false): Buffer {
  const authoritative = outcome.kind !== 'refused' && outcome.kind !== 'badvers';
  let flags = (authoritative ? FLAG_AA : 0) | (q.rd ? FLAG_RD : 0) | (truncated ? FLAG_TC : 0) | rcodeOf(outcome);
  flags &= 0x7fff;
  const answers = !truncated && outcome.kind === 'answer' ? [...outcome.answers] : [];
  const negative = outcome.kind === 'nxdomain' || outcome.kind === 'nodata';
  const authorities = !truncated && negative ? [resolver.soa()] : [];
  const additionals: Answer[] = q.edns
    ? [{
      name: '.', type: 'OPT', udpPayloadSize: cfg.udpPayloadSize, ednsVersion: 0,
      extendedRcode: outcome.kind === 'badvers' ? EXT_RCODE_BADVERS : 0, flags: q.edns.do ? DO_BIT : 0, options: [],
    }]
    : [];
  const body = dnsPacket.encode({ id: q.id, type: 'response', flags, questions: [], answers, authorities, additionals });
  return withQuestion(body, q);
}

/** Puts the question, as asked, after the header dns-packet wrote (with QDCOUNT 0). */
function withQuestion(body: Buffer, q: ParsedQuery): Buffer {
  const qlen = q.qnameWire.length + 4;
  const out = Buffer.allocUnsafe(body.length + qlen);
  body.copy(out, 0, 0, HEADER_BYTES);
  out.writeUInt16BE(1, 4);
  q.qnameWire.copy(out, HEADER_BYTES);
  out.writeUInt16BE(q.qtype, HEADER_BYTES + q.qnameWire.length);
  out.writeUInt16BE(q.qclass, HEADER_BYTES + q.qnameWire.length + 2);
  body.copy(out, HEADER_BYTES + qlen, HEADER_BYTES);
  return out;
}

/** Header-only reply to a query that could not be parsed (FORMERR) or uses an unknown opcode (NOTIMP). */
export function errorReply(id: number, opcode: number, rd: boolean, rcode: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG_QR | ((opcode & 0xf) << 11) | (rd ? FLAG_RD : 0) | rcode, 2);
  return out;
}

/** The full plain path for one parsed query over one transport: resolve, encode, truncate if needed. */
export function plainReply(q: ParsedQuery, resolver: Resolver, cfg: ReplyConfig, transport: 'udp' | 'tcp'): Buffer {
  const outcome = resolveQuery(q, resolver);
  const full = encodeReply(q, outcome, resolver, cfg);
  return full.length <= replyLimit(q, transport, cfg) ? full : encodeReply(q, outcome, resolver, cfg, true);
}
