// Fuzzing the packet handler: a million random and mutated packets (truncations, bit
// flips, compression-pointer loops, absurd counts, broken OPT records) go straight into
// DnsServer.handle — the function the UDP and TCP paths call — then the same server must
// still answer correctly over a real socket. Every reply must be a well-formed response
// to the query's ID, and the handler's own failure path (SERVFAIL) must never be hit.
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DnsServer } from '../../agent/dns/server.ts';
import { dig, rdata, sampleResolver } from '../e2e/support/dig.ts';

const PACKETS = 1_000_000;

// Deterministic PRNG (xorshift32) so a failure can be replayed from its index.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

const seeds = [
  'cart.shop.svc.clusterset.local', '_http._tcp.cart.shop.svc.clusterset.local', 'pg.db.svc.clusterset.local',
  'big.db.svc.clusterset.local', 'dns-version.clusterset.local', 'pg-0.west.pg.db.svc.clusterset.local', 'example.com',
].flatMap((name) => ['A', 'AAAA', 'SRV', 'TXT', 'ANY'].flatMap((type) => [
  dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] }),
  dnsPacket.encode({ type: 'query', id: 2, questions: [{ name, type }], additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 4096, options: [{ code: 10, data: Buffer.alloc(8, 7) }] }] }),
]));

function header(id: number, flags: number, qd: number, an: number, ns: number, ar: number): Buffer {
  const b = Buffer.alloc(12);
  [id, flags, qd, an, ns, ar].forEach((v, i) => b.writeUInt16BE(v & 0xffff, i * 2));
  return b;
}

/** One packet of kind i % 8. */
function packet(i: number, next: () => number): Buffer {
  const seed = seeds[next() % seeds.length]!;
  switch (i % 8) {
    case 0: { // random bytes
      const b = Buffer.allocUnsafe(next() % 600);
      for (let j = 0; j < b.length; j++) b[j] = next() & 0xff;
      return b;
    }
    case 1: return seed.subarray(0, next() % seed.length); // truncated
    case 2: { // bit flips
      const b = Buffer.from(seed);
      for (let n = 1 + (next() % 4); n > 0; n--) b[next() % b.length]! ^= 1 << (next() % 8);
      return b;
    }
    case 3: { // byte replacements, extension
      const b = Buffer.concat([seed, Buffer.alloc(next() % 3 === 0 ? next() % 40 : 0, next() & 0xff)]);
      for (let n = 1 + (next() % 3); n > 0; n--) b[next() % b.length] = next() & 0xff;
      return b;
    }
    case 4: { // compression pointer loops and forward pointers in the question
      const target = next() % 2 ? 12 : next() % 64;
      return Buffer.concat([header(next(), 0x0100, 1, 0, 0, 0), Buffer.from([3, 0x61, 0x62, 0x63, 0xc0 | (target >> 8), target & 0xff, 0, 1, 0, 1])]);
    }
    case 5: { // absurd counts on a valid body
      const b = Buffer.from(seed);
      b.writeUInt16BE(next() & 0xffff, 4 + 2 * (next() % 4));
      return b;
    }
    case 6: { // broken OPT: wrong owner, rdlen past the end, bad options
      const b = Buffer.from(seeds[(next() % (seeds.length / 2)) * 2 + 1]!);
      const opt = b.length - 23;
      b[opt + (next() % 23)] = next() & 0xff;
      return b;
    }
    default: { // labels longer than the packet, over-long names, zero-length
      const labels: Buffer[] = [];
      for (let n = next() % 12; n > 0; n--) {
        const len = next() % 70;
        labels.push(Buffer.concat([Buffer.from([len]), Buffer.alloc(Math.min(len, next() % 80), 0x61 + (next() % 26))]));
      }
      return Buffer.concat([header(next(), next() & 0x7fff, 1, 0, 0, next() % 3), ...labels, Buffer.from([0, 0, next() & 0xff, 0, 1])]);
    }
  }
}

describe('DNS packet handler fuzzing', () => {
  let server: DnsServer | undefined;
  afterAll(async () => { await server?.close(); });

  it(`survives ${PACKETS.toLocaleString('en')} random and mutated packets, then still answers over a real socket`, async () => {
    const failures: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => { failures.push(line); } });
    server = new DnsServer({ resolver: sampleResolver(), logger });
    const next = rng(0xd15ea5e);
    let replies = 0;
    let bad = 0;
    const rcodes = new Map<number, number>();
    for (let i = 0; i < PACKETS; i++) {
      const p = packet(i, next);
      const out = server.handle(p, i % 5 === 0 ? 'tcp' : 'udp');
      if (!out) continue;
      replies++;
      rcodes.set(out[3]! & 0xf, (rcodes.get(out[3]! & 0xf) ?? 0) + 1);
      // A reply is a response (QR), to this ID, and no larger than the transport allows.
      if (out.length < 12 || (out[2]! & 0x80) === 0 || out.readUInt16BE(0) !== p.readUInt16BE(0) || (i % 5 !== 0 && out.length > 4096)) bad++;
    }
    expect(bad).toBe(0);
    expect(failures).toEqual([]);
    expect(replies).toBeGreaterThan(PACKETS / 4);
    // The mutations reach every outcome, not only the parser's rejections.
    for (const rcode of [0, 1, 3, 4, 5]) expect(rcodes.get(rcode) ?? 0, `rcode ${rcode}`).toBeGreaterThan(1000);
    console.log(`fuzz: ${PACKETS} packets, ${replies} replies, rcodes ${JSON.stringify(Object.fromEntries(rcodes))}`);

    const { host, port } = await server.listen('127.0.0.1', 0);
    for (const mode of ['+notcp', '+tcp']) {
      expect(rdata(await dig(host, port, [mode, 'cart.shop.svc.clusterset.local', 'A']))).toEqual(['10.96.0.10']);
      expect((await dig(host, port, [mode, 'nope.shop.svc.clusterset.local', 'A'])).status).toBe('NXDOMAIN');
    }
  }, 120_000);
});
