// The plain answer path: parsed query → resolver → MessageWriter → bytes. This is the
// reference the pre-encoded path (answer-cache.ts) must match byte for byte. The question
// is echoed as the raw bytes that arrived (case and all); the records after it are written
// with compressed names.
import { MessageWriter } from './message-writer.ts';
import { CLASS_IN, HEADER_BYTES, type ParsedQuery } from './query.ts';
import type { Resolution, Resolver } from './resolver.ts';

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** BADVERS (16) lives in the OPT record's extended rcode: 16 >> 4. */
const EXT_RCODE_BADVERS = 1;
const CLASS_ANY = 255;
const TYPE_IXFR = 251;
const TYPE_AXFR = 252;
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
  // Zone transfers are not offered: every record is derived from the clusterset's state.
  if (q.qtype === TYPE_IXFR || q.qtype === TYPE_AXFR) return { kind: 'refused' };
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
  const flags = FLAG_QR | (authoritative ? FLAG_AA : 0) | (q.rd ? FLAG_RD : 0) | (truncated ? FLAG_TC : 0) | rcodeOf(outcome);
  const answers = !truncated && outcome.kind === 'answer' ? outcome.answers : [];
  const negative = outcome.kind === 'nxdomain' || outcome.kind === 'nodata';
  const authorities = !truncated && negative ? [resolver.soa()] : [];
  const w = new MessageWriter(truncated ? 64 : 512);
  w.header(q.id, flags);
  w.question(q.qnameWire, q.qtype, q.qclass);
  for (const rr of answers) w.record(rr);
  for (const rr of authorities) w.record(rr);
  if (q.edns) w.opt(optFor(q.edns, cfg, outcome.kind === 'badvers'));
  w.counts(answers.length, authorities.length, q.edns ? 1 : 0);
  return w.finish();
}

function optFor(edns: NonNullable<ParsedQuery['edns']>, cfg: ReplyConfig, badvers: boolean) {
  return { udpPayloadSize: cfg.udpPayloadSize, extendedRcode: badvers ? EXT_RCODE_BADVERS : 0, version: 0, flags: edns.do ? DO_BIT : 0 };
}

/**
 * Header-only reply to a query that could not be parsed (FORMERR) or uses an unknown
 * opcode (NOTIMP). A query whose OPT record was read gets one back (RFC 6891 §7), with
 * BADVERS in place of the rcode when it asked for an EDNS version other than 0.
 */
export function errorReply(id: number, opcode: number, rd: boolean, rcode: number, edns?: ParsedQuery['edns'], cfg?: ReplyConfig): Buffer {
  const badvers = edns !== undefined && edns.version !== 0;
  const w = new MessageWriter(HEADER_BYTES + 11);
  w.header(id, FLAG_QR | ((opcode & 0xf) << 11) | (rd ? FLAG_RD : 0) | (badvers ? 0 : rcode), 0);
  w.counts(0, 0, edns ? 1 : 0);
  if (edns) w.opt(optFor(edns, cfg ?? { udpPayloadSize: MIN_UDP }, badvers));
  return w.finish();
}

/** The full plain path for one parsed query over one transport: resolve, encode, truncate if needed. */
export function plainReply(q: ParsedQuery, resolver: Resolver, cfg: ReplyConfig, transport: 'udp' | 'tcp'): Buffer {
  const outcome = resolveQuery(q, resolver);
  const full = encodeReply(q, outcome, resolver, cfg);
  return full.length <= replyLimit(q, transport, cfg) ? full : encodeReply(q, outcome, resolver, cfg, true);
}
