// Strict parsing of one DNS query message (RFC 1035 §4.1, EDNS(0) per RFC 6891). Shared
// by the plain and the pre-encoded answer paths so both see the same question. Never
// throws: anything malformed comes back as a reason, and the server answers FORMERR or
// drops it. It only reads within the buffer, and never follows compression pointers
// (a query's question may not use them), so pointer loops cannot hang it.

export const HEADER_BYTES = 12;
const MAX_WIRE_NAME = 255;
const TYPE_OPT = 41;
const UNSAFE_LABEL = '\\?';
export const CLASS_IN = 1;
export const OPCODE_QUERY = 0;

export interface ParsedQuery {
  readonly id: number;
  /** The RD bit as asked; echoed in the reply. */
  readonly rd: boolean;
  /** Question name bytes exactly as they arrived (labels, root): echoed in the reply. */
  readonly qnameWire: Buffer;
  /**
   * Lower-cased, dot-joined; `.` for the root. A label with bytes that cannot be written
   * as text becomes `\\?`, which no record name contains: such names never match.
   */
  readonly qname: string;
  /** True when qname is the asked name exactly, only lower-cased (every label text-safe). */
  readonly textSafe: boolean;
  readonly qtype: number;
  readonly qclass: number;
  /** Present when the query carried an OPT record. */
  readonly edns: { readonly udpSize: number; readonly version: number; readonly do: boolean } | undefined;
}

export type QueryParse =
  | { readonly ok: true; readonly query: ParsedQuery }
  /**
   * `drop`: not worth an answer (too short for a header, or a response). `edns` is set when
   * the OPT record could be read, so the error reply carries one (RFC 6891 §7).
   */
  | { readonly ok: false; readonly reply: 'drop' | 'formerr' | 'notimp'; readonly id: number; readonly rd: boolean; readonly opcode: number; readonly edns?: ParsedQuery['edns'] };

function fail(buf: Buffer, reply: 'drop' | 'formerr' | 'notimp', edns?: ParsedQuery['edns']): QueryParse {
  const flags = buf.length >= 4 ? buf.readUInt16BE(2) : 0;
  return { ok: false, reply, id: buf.length >= 2 ? buf.readUInt16BE(0) : 0, rd: (flags & 0x0100) !== 0, opcode: (flags >> 11) & 0xf, edns };
}

/**
 * Scratch for the name's text: one string is made per query, not one per label (the
 * parser was most of a cached reply's cost). Up to 127 one-byte labels, each possibly
 * written as the 2-char placeholder, plus dots: well under 1024.
 */
const scratch = Buffer.allocUnsafe(1024);

/**
 * Reads the question name: the offset after it and its text, lower-cased, with labels
 * that hold bytes outside printable ASCII, `.` or `\` written as the placeholder.
 * Undefined when it is malformed, compressed or longer than 255 octets.
 */
function readName(buf: Buffer, offset: number): { end: number; text: string; safe: boolean } | undefined {
  let o = offset;
  let n = 0;
  let safe = true;
  for (;;) {
    if (o >= buf.length) return undefined;
    const len = buf[o]!;
    if (len === 0) { o++; break; }
    if (len > 63 || o + 1 + len > buf.length) return undefined;
    if (n > 0) scratch[n++] = 0x2e;
    const labelStart = n;
    let labelSafe = true;
    for (let i = o + 1; i <= o + len; i++) {
      let c = buf[i]!;
      if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c) labelSafe = false;
      else if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      scratch[n++] = c;
    }
    if (!labelSafe) {
      n = labelStart + scratch.write(UNSAFE_LABEL, labelStart, 'latin1');
      safe = false;
    }
    o += 1 + len;
    if (o - offset > MAX_WIRE_NAME) return undefined;
  }
  if (o - offset > MAX_WIRE_NAME) return undefined;
  return { end: o, text: n === 0 ? '.' : scratch.toString('latin1', 0, n), safe };
}

export function parseQuery(buf: Buffer): QueryParse {
  if (buf.length < HEADER_BYTES) return fail(buf, 'drop');
  const flags = buf.readUInt16BE(2);
  if (flags & 0x8000) return fail(buf, 'drop');
  // Another opcode is NOTIMP, but its OPT record is still looked for, to echo it.
  const rejected = ((flags >> 11) & 0xf) !== OPCODE_QUERY ? 'notimp' : 'formerr';
  const qd = buf.readUInt16BE(4);
  const an = buf.readUInt16BE(6);
  const ns = buf.readUInt16BE(8);
  const ar = buf.readUInt16BE(10);
  if (qd !== 1 || an !== 0 || ns !== 0 || ar > 1) return fail(buf, rejected);
  const name = readName(buf, HEADER_BYTES);
  if (!name || name.end + 4 > buf.length) return fail(buf, rejected);
  const qtype = buf.readUInt16BE(name.end);
  const qclass = buf.readUInt16BE(name.end + 2);
  let o = name.end + 4;
  let edns: ParsedQuery['edns'];
  if (ar === 1) {
    // Only an OPT record is accepted in a query's additional section: root owner, type 41.
    if (o + 11 > buf.length || buf[o] !== 0 || buf.readUInt16BE(o + 1) !== TYPE_OPT) return fail(buf, rejected);
    edns = { udpSize: buf.readUInt16BE(o + 3), version: buf[o + 6]!, do: (buf.readUInt16BE(o + 7) & 0x8000) !== 0 };
    const rdlen = buf.readUInt16BE(o + 9);
    if (o + 11 + rdlen !== buf.length) return fail(buf, rejected, edns);
    if (!optionsWellFormed(buf, o + 11, o + 11 + rdlen)) return fail(buf, rejected, edns);
    o += 11 + rdlen;
  }
  if (o !== buf.length || rejected === 'notimp') return fail(buf, rejected, edns);
  return {
    ok: true,
    query: { id: buf.readUInt16BE(0), rd: (flags & 0x0100) !== 0, qnameWire: buf.subarray(HEADER_BYTES, name.end), qname: name.text, textSafe: name.safe, qtype, qclass, edns },
  };
}

function optionsWellFormed(buf: Buffer, start: number, end: number): boolean {
  let o = start;
  while (o < end) {
    if (o + 4 > end) return false;
    o += 4 + buf.readUInt16BE(o + 2);
  }
  return o === end;
}
