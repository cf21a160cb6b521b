// The pre-encoded path must equal the plain path byte for byte (STYLE habit 7).
import dnsPacket, { type Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { AnswerCache } from './answer-cache.ts';
import { parseQuery, type ParsedQuery } from './query.ts';
import { plainReply } from './reply.ts';
import { Resolver } from './resolver.ts';

const cfg = { udpPayloadSize: 1232 };

function resolverWithRecords(): Resolver {
  const r = new Resolver({ ttlSeconds: 5 });
  r.setService('shop', 'cart', { type: 'ClusterSetIP', ips: ['10.96.0.10', 'fd00::10'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
  r.setService('db', 'pg', {
    type: 'Headless', ports: [{ name: 'sql', protocol: 'TCP', port: 5432 }],
    // Every fifth endpoint has no hostname: it is named after its address.
    endpoints: Array.from({ length: 60 }, (_, i) => ({ cluster: i % 2 ? 'east' : 'west', addresses: [`10.1.0.${i}`], hostname: i % 5 ? `pg-${i}` : undefined })),
  });
  r.markReady();
  return r;
}

let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const randomCase = (s: string) => [...s].map((c) => (rand() < 0.5 ? c.toUpperCase() : c)).join('');

function query(name: string, type: string, edns: 'none' | 'edns' | 'do', id: number, rd: boolean): ParsedQuery {
  const opt: Answer[] = edns === 'none' ? [] : [{ name: '.', type: 'OPT', udpPayloadSize: 4096, flags: edns === 'do' ? 0x8000 : 0 }];
  const buf = dnsPacket.encode({ type: 'query', id, flags: rd ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ name, type }], additionals: opt });
  const p = parseQuery(buf);
  if (!p.ok) throw new Error('test query did not parse');
  return p.query;
}

describe('AnswerCache (pre-encoded replies)', () => {
  it('equals the plain encoder byte for byte for every name, type, EDNS variant, case, ID and RD', () => {
    const r = resolverWithRecords();
    const cache = new AnswerCache(r, cfg);
    let compared = 0;
    // Per-host names all look alike: every fourth of them is enough.
    for (const name of r.names().filter((n, i) => !n.includes('.db.svc.') || n.startsWith('pg.') || n.startsWith('_') || i % 4 === 0)) {
      for (const type of ['A', 'AAAA', 'SRV', 'TXT', 'SOA', 'NS', 'ANY', 'MX', 'AXFR']) {
        for (const edns of ['none', 'edns', 'do'] as const) {
          for (const transport of ['udp', 'tcp'] as const) {
            for (let i = 0; i < 2; i++) {
              const q = query(randomCase(name), type, edns, Math.floor(rand() * 65536), rand() < 0.5);
              const fast = cache.reply(q, transport);
              const plain = plainReply(q, r, cfg, transport);
              if (fast) {
                expect(fast.equals(plain), `${name} ${type} ${edns} ${transport}`).toBe(true);
                compared++;
              }
            }
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('pre-encoded replies are compressed like the plain ones: 60 endpoints in 16 bytes each', () => {
    const r = resolverWithRecords();
    const cache = new AnswerCache(r, cfg);
    const q = query('PG.db.svc.clusterset.local', 'A', 'edns', 5, true);
    const fast = cache.reply(q, 'udp')!;
    expect(fast.equals(plainReply(q, r, cfg, 'udp'))).toBe(true);
    expect(fast.length).toBe(12 + q.qnameWire.length + 4 + 60 * 16 + 11);
    expect(dnsPacket.decode(fast).answers?.length).toBe(60);
  });

  it('drops every entry when the resolver changes', () => {
    const r = resolverWithRecords();
    const cache = new AnswerCache(r, cfg);
    const q = query('cart.shop.svc.clusterset.local', 'A', 'none', 1, true);
    const before = cache.reply(q, 'udp')!;
    r.setService('shop', 'cart', { type: 'ClusterSetIP', ips: ['10.96.0.99'], ports: [] });
    const after = cache.reply(q, 'udp')!;
    expect(after.equals(before)).toBe(false);
    expect(after.equals(plainReply(q, r, cfg, 'udp'))).toBe(true);
  });

  it('caches negative answers like the plain path gives them, never SERVFAIL, within its bound', () => {
    const r = resolverWithRecords();
    const cache = new AnswerCache(r, cfg, { maxEntries: 10 });
    for (const name of ['nope.shop.svc.clusterset.local', 'example.com', 'shop.svc.clusterset.local']) {
      const q = query(name, 'A', 'edns', 9, true);
      expect(cache.reply(q, 'udp')!.equals(plainReply(q, r, cfg, 'udp'))).toBe(true);
    }
    for (let i = 0; i < 100; i++) cache.reply(query(`random-${i}.clusterset.local`, 'A', 'none', 1, false), 'udp');
    expect(cache.size).toBeLessThanOrEqual(10);
    const notReady = new AnswerCache(new Resolver({ ttlSeconds: 5 }), cfg);
    expect(notReady.reply(query('cart.shop.svc.clusterset.local', 'A', 'none', 1, false), 'udp')).toBeUndefined();
  });

  it('leaves replies larger than the client takes to the plain path (which truncates)', () => {
    const r = resolverWithRecords();
    const cache = new AnswerCache(r, cfg);
    const q = query('pg.db.svc.clusterset.local', 'A', 'none', 1, false);
    expect(cache.reply(q, 'udp')).toBeUndefined();
    expect(cache.reply(q, 'tcp')!.equals(plainReply(q, r, cfg, 'tcp'))).toBe(true);
  });
});
