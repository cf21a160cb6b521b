// The fast path (STYLE habit 7): replies for names that exist, pre-encoded once per
// resolver version by the plain path (reply.ts) with a canonical question, then served by
// copying and patching in the query's ID, RD bit and question bytes (same length; only
// the case can differ). Every change to the resolver drops them all; the next query of a
// name encodes it again. Negative answers are cached too (bench:dns sends 10% NXDOMAIN, and
// the plain path costs about 5x a cached reply); SERVFAIL never is. The cache is bounded
// (cleared when full), so a flood of random names costs no more than the plain path.
// Unit tests prove it equals the plain path byte for byte.
import { HEADER_BYTES, type ParsedQuery } from './query.ts';
import { encodeReply, replyLimit, resolveQuery, type ReplyConfig } from './reply.ts';
import type { Resolver } from './resolver.ts';

const FLAG_RD = 0x0100;
const DEFAULT_MAX_ENTRIES = 20_000;

export class AnswerCache {
  readonly #resolver: Resolver;
  readonly #cfg: ReplyConfig;
  readonly #max: number;
  readonly #entries = new Map<string, Buffer>();
  #version = -1;

  constructor(resolver: Resolver, cfg: ReplyConfig, o: { maxEntries?: number } = {}) {
    this.#resolver = resolver;
    this.#cfg = cfg;
    this.#max = o.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  get size(): number { return this.#entries.size; }

  /** The reply from the cache, or undefined when this query must take the plain path. */
  reply(q: ParsedQuery, transport: 'udp' | 'tcp'): Buffer | undefined {
    if (!q.textSafe || q.qclass !== 1 || (q.edns && q.edns.version !== 0)) return undefined;
    if (this.#version !== this.#resolver.version) {
      this.#entries.clear();
      this.#version = this.#resolver.version;
    }
    const key = `${q.qname}\u0000${q.qtype}\u0000${q.edns ? (q.edns.do ? 2 : 1) : 0}`;
    let pre = this.#entries.get(key);
    if (!pre) {
      pre = this.#encode(q);
      if (!pre) return undefined;
      if (this.#entries.size >= this.#max) this.#entries.clear();
      this.#entries.set(key, pre);
    }
    if (pre.length > replyLimit(q, transport, this.#cfg)) return undefined;
    const out = Buffer.allocUnsafe(pre.length);
    pre.copy(out);
    out.writeUInt16BE(q.id, 0);
    if (q.rd) out[2]! |= FLAG_RD >> 8;
    q.qnameWire.copy(out, HEADER_BYTES);
    return out;
  }

  /** The canonical reply (ID 0, RD clear, lower-case question); none for SERVFAIL. */
  #encode(q: ParsedQuery): Buffer | undefined {
    const outcome = resolveQuery(q, this.#resolver);
    if (outcome.kind === 'servfail' || outcome.kind === 'badvers') return undefined;
    const canonical: ParsedQuery = { ...q, id: 0, rd: false, qnameWire: encodeName(q.qname) };
    return encodeReply(canonical, outcome, this.#resolver, this.#cfg);
  }
}

/** Wire form of a lower-case, text-safe name. */
function encodeName(name: string): Buffer {
  if (name === '.') return Buffer.from([0]);
  const labels = name.split('.');
  const out = Buffer.allocUnsafe(name.length + 2);
  let o = 0;
  for (const l of labels) {
    out[o++] = l.length;
    o += out.write(l, o, 'latin1');
  }
  out[o] = 0;
  return out;
}
