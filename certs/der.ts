// A minimal DER writer and a strict DER reader: just enough ASN.1 to encode a leaf
// certificate's TBSCertificate directly and to slice the signed bytes, names and keys
// out of certificates and CSRs without re-encoding them.
//
// Why not @peculiar/x509 for this: its generic schema machinery costs ~2 ms per leaf,
// which alone would miss the 500 issuances/s target. x509 stays the reference:
// test/support/issue-reference.ts builds the same TBSCertificate through it, and issue.test.ts checks
// that both give identical bytes. Signature checks need the exact signed bytes, which
// x509 does not expose, so the reader slices them from the original DER.
import { CertError } from './errors.ts';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

// ---- writer ----

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of content) size += c.length;
  const head = lengthBytes(size);
  const out = new Uint8Array(1 + head.length + size);
  out[0] = tag;
  out.set(head, 1);
  let at = 1 + head.length;
  for (const c of content) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const sequence = (...content: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...content);
export const set = (...content: Uint8Array[]): Uint8Array => tlv(TAG.SET, ...content);
/** [n] constructed, context-specific (EXPLICIT tagging, or IMPLICIT over a constructed type). */
export const explicit = (n: number, ...content: Uint8Array[]): Uint8Array => tlv(0xa0 | n, ...content);
/** [n] primitive, context-specific (IMPLICIT over a primitive type). */
export const implicitPrimitive = (n: number, content: Uint8Array): Uint8Array => tlv(0x80 | n, content);

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(bytes));
}

/** An INTEGER from big-endian unsigned magnitude bytes (adds the sign octet if needed). */
export function unsignedInteger(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const needsPad = trimmed.length === 0 || (trimmed[0]! & 0x80) !== 0;
  return needsPad ? tlv(TAG.INTEGER, Uint8Array.of(0), trimmed) : tlv(TAG.INTEGER, trimmed);
}

export const booleanTrue = (): Uint8Array => Uint8Array.of(TAG.BOOLEAN, 1, 0xff);
export const octetString = (b: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, b);
export const bitString = (b: Uint8Array, unusedBits = 0): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(unusedBits), b);
export const utf8String = (s: string): Uint8Array => tlv(TAG.UTF8_STRING, Buffer.from(s, 'utf8'));
export const ia5String = (s: string): Uint8Array => tlv(TAG.IA5_STRING, Buffer.from(s, 'latin1'));

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function time(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = d.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new CertError('PLX_CERTS_BAD_ARGUMENT', `date out of range: ${iso}`);
  return year < 2050
    ? tlv(TAG.UTC_TIME, Buffer.from(digits.slice(2), 'latin1'))
    : tlv(TAG.GENERALIZED_TIME, Buffer.from(digits, 'latin1'));
}

// ---- reader ----

export interface DerNode {
  readonly tag: number;
  /** Offset of the tag octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset one past the last content octet. */
  readonly end: number;
}

function malformed(what: string): CertError {
  return new CertError('PLX_CERTS_BAD_ARGUMENT', `malformed DER: ${what}`);
}

/** Reads one TLV at `offset`, rejecting indefinite and non-minimal lengths and overruns. */
export function readNode(buf: Uint8Array, offset: number, limit = buf.length): DerNode {
  if (offset + 2 > limit) throw malformed('truncated header');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('multi-byte tags are not supported');
  let length = buf[offset + 1]!;
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw malformed('unsupported length form');
    if (contentStart + count > limit) throw malformed('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[contentStart + i]!;
    if (buf[contentStart] === 0 || length < 0x80) throw malformed('non-minimal length');
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw malformed('content overruns its container');
  return { tag, start: offset, contentStart, end };
}

/** Reads a whole buffer as exactly one TLV. */
export function readRoot(buf: Uint8Array): DerNode {
  const node = readNode(buf, 0);
  if (node.end !== buf.length) throw malformed('trailing bytes');
  return node;
}

export function childrenOf(buf: Uint8Array, parent: DerNode): DerNode[] {
  if ((parent.tag & 0x20) === 0) throw malformed('expected a constructed type');
  const out: DerNode[] = [];
  for (let at = parent.contentStart; at < parent.end;) {
    const child = readNode(buf, at, parent.end);
    out.push(child);
    at = child.end;
  }
  return out;
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw malformed(`expected ${what}`);
  return node;
}

export const bytesOf = (buf: Uint8Array, node: DerNode): Uint8Array => buf.subarray(node.start, node.end);
export const contentOf = (buf: Uint8Array, node: DerNode): Uint8Array => buf.subarray(node.contentStart, node.end);

export function readOid(buf: Uint8Array, node: DerNode): string {
  const c = contentOf(buf, expectTag(node, TAG.OID, 'an OBJECT IDENTIFIER'));
  if (c.length === 0) throw malformed('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (value === 0 && b === 0x80) throw malformed('non-minimal OID arc');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 256) throw malformed('OID arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else arcs.push(value);
      value = 0;
    } else if (i === c.length - 1) {
      throw malformed('truncated OID');
    }
  }
  return arcs.join('.');
}

/** The bits of a BIT STRING that has no unused bits (keys and signatures). */
export function readOctetAlignedBits(buf: Uint8Array, node: DerNode): Uint8Array {
  const c = contentOf(buf, expectTag(node, TAG.BIT_STRING, 'a BIT STRING'));
  if (c.length < 1 || c[0] !== 0) throw malformed('BIT STRING is not octet-aligned');
  return c.subarray(1);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
