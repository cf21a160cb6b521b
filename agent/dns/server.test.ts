// The packet handler on crafted packets: rcodes, echo, EDNS, truncation. Real sockets and
// real clients are in test/integration/dns-*.test.ts.
import dnsPacket, { type Answer } from 'dns-packet';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentMetrics } from '../metrics/agent-metrics.ts';
import { Resolver } from './resolver.ts';
import { DnsServer } from './server.ts';

function server(metrics?: AgentMetrics): DnsServer {
  const r = new Resolver({ ttlSeconds: 5 });
  r.setService('shop', 'cart', { type: 'ClusterSetIP', ips: ['10.96.0.10'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
  r.setService('db', 'pg', {
    type: 'Headless', ports: [],
    endpoints: Array.from({ length: 100 }, (_, i) => ({ cluster: 'east', addresses: [`10.1.0.${i}`], hostname: `pg-${i}` })),
  });
  r.markReady();
  return new DnsServer({ resolver: r, logger: pino({ level: 'silent' }), metrics });
}

function q(name: string, type = 'A', o: { id?: number; opt?: Partial<Answer> } = {}): Buffer {
  const additionals: Answer[] = o.opt ? [{ name: '.', type: 'OPT', udpPayloadSize: 1232, ...o.opt }] : [];
  return dnsPacket.encode({ type: 'query', id: o.id ?? 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }], additionals });
}

const rcodeOf = (b: Buffer) => b.readUInt16BE(2) & 0xf;
const flagsOf = (b: Buffer) => b.readUInt16BE(2);

describe('DnsServer.handle', () => {
  const s = server();

  it('echoes ID, RD and the question exactly as asked, case included', () => {
    const out = s.handle(q('CaRt.SHOP.svc.clusterset.local', 'A', { id: 777 }), 'udp')!;
    const d = dnsPacket.decode(out);
    expect(d.id).toBe(777);
    expect(d.flag_rd).toBe(true);
    expect(d.flag_aa).toBe(true);
    expect(d.questions).toEqual([{ name: 'CaRt.SHOP.svc.clusterset.local', type: 'A', class: 'IN' }]);
    expect(d.answers?.map((a) => a.data)).toEqual(['10.96.0.10']);
  });

  it('answers NXDOMAIN and NODATA with the SOA in authority, REFUSED outside the zone', () => {
    const nx = dnsPacket.decode(s.handle(q('nope.shop.svc.clusterset.local'), 'udp')!);
    expect(nx.rcode).toBe('NXDOMAIN');
    expect(nx.authorities?.map((a) => a.type)).toEqual(['SOA']);
    const nodata = dnsPacket.decode(s.handle(q('cart.shop.svc.clusterset.local', 'TXT'), 'udp')!);
    expect([nodata.rcode, nodata.answers?.length, nodata.authorities?.[0]?.type]).toEqual(['NOERROR', 0, 'SOA']);
    expect(dnsPacket.decode(s.handle(q('example.com'), 'udp')!).rcode).toBe('REFUSED');
  });

  it('honours EDNS: OPT in the reply, BADVERS for version 1, DO copied', () => {
    const d = dnsPacket.decode(s.handle(q('cart.shop.svc.clusterset.local', 'A', { opt: { flags: 0x8000 } }), 'udp')!);
    expect(d.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 4096, flag_do: true });
    const bad = dnsPacket.decode(s.handle(q('cart.shop.svc.clusterset.local', 'A', { opt: { ednsVersion: 1 } }), 'udp')!);
    expect(bad.additionals?.[0]).toMatchObject({ type: 'OPT', extendedRcode: 1 });
  });

  it('sets TC over UDP when the answer does not fit, and serves it whole over TCP', () => {
    const udp = dnsPacket.decode(s.handle(q('pg.db.svc.clusterset.local'), 'udp')!);
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const edns = s.handle(q('pg.db.svc.clusterset.local', 'A', { opt: { udpPayloadSize: 1232 } }), 'udp')!;
    expect(edns.length).toBeLessThanOrEqual(1232);
    expect(dnsPacket.decode(edns).flag_tc).toBe(true);
    // A client that advertises 4096 gets the 100 records (about 1.7 kB) over UDP, untruncated.
    const big = s.handle(q('pg.db.svc.clusterset.local', 'A', { opt: { udpPayloadSize: 4096 } }), 'udp')!;
    expect([dnsPacket.decode(big).flag_tc, dnsPacket.decode(big).answers?.length, big.length <= 4096]).toEqual([false, 100, true]);
    const tcp = dnsPacket.decode(s.handle(q('pg.db.svc.clusterset.local'), 'tcp')!);
    expect([tcp.flag_tc, tcp.answers?.length]).toEqual([false, 100]);
  });

  it('answers are compressed: 60 headless endpoints fit a 4096 EDNS buffer untruncated; what does not fit the client\'s advertised size is TC', () => {
    const r = new Resolver({ ttlSeconds: 5 });
    r.setService('db', 'sixty', {
      type: 'Headless', ports: [{ name: 'sql', protocol: 'TCP', port: 5432 }],
      endpoints: Array.from({ length: 60 }, (_, i) => ({ cluster: 'east', addresses: [`10.1.0.${i}`], hostname: `pg-${i}` })),
    });
    r.markReady();
    const s60 = new DnsServer({ resolver: r, logger: pino({ level: 'silent' }) });
    for (const name of ['sixty.db.svc.clusterset.local', 'SIXTY.db.svc.clusterset.local']) {
      const out = s60.handle(q(name, 'A', { opt: { udpPayloadSize: 4096 } }), 'udp')!;
      const d = dnsPacket.decode(out);
      expect([d.flag_tc, d.answers?.length, out.length < 1100]).toEqual([false, 60, true]);
    }
    // The reply fills the client's advertised size: 60 SRV records (about 3.4 kB) fit 4096 …
    const srv = dnsPacket.decode(s60.handle(q('_sql._tcp.sixty.db.svc.clusterset.local', 'SRV', { opt: { udpPayloadSize: 4096 } }), 'udp')!);
    expect([srv.flag_tc, srv.answers?.length]).toEqual([false, 60]);
    // … and a client that advertises 1232 gets TC and asks again over TCP.
    const small = dnsPacket.decode(s60.handle(q('_sql._tcp.sixty.db.svc.clusterset.local', 'SRV', { opt: { udpPayloadSize: 1232 } }), 'udp')!);
    expect([small.flag_tc, small.answers?.length]).toEqual([true, 0]);
    expect(dnsPacket.decode(s60.handle(q('_sql._tcp.sixty.db.svc.clusterset.local', 'SRV'), 'tcp')!).answers?.length).toBe(60);
  });

  it('refuses zone transfers (AXFR, IXFR)', () => {
    for (const type of ['AXFR', 'IXFR']) {
      expect(rcodeOf(s.handle(q('clusterset.local', type), 'tcp')!)).toBe(5);
      expect(rcodeOf(s.handle(q('clusterset.local', type, { opt: {} }), 'udp')!)).toBe(5);
    }
  });

  it('error replies to queries that carried an OPT record carry one too (RFC 6891 §7); BADVERS wins over NOTIMP', () => {
    const status = q('cart.shop.svc.clusterset.local', 'A', { opt: { flags: 0x8000 } });
    status.writeUInt16BE((2 << 11) | 0x0100, 2);
    const notimp = s.handle(status, 'udp')!;
    expect(rcodeOf(notimp)).toBe(4);
    expect(dnsPacket.decode(notimp).additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 4096, flag_do: true });
    const formerr = s.handle(Buffer.concat([q('cart.shop.svc.clusterset.local', 'A', { opt: {} }), Buffer.from([1])]), 'udp')!;
    expect(rcodeOf(formerr)).toBe(1);
    expect(dnsPacket.decode(formerr).additionals?.map((a) => a.type)).toEqual(['OPT']);
    const v1 = q('cart.shop.svc.clusterset.local', 'A', { opt: { ednsVersion: 1 } });
    v1.writeUInt16BE((2 << 11) | 0x0100, 2);
    const badvers = dnsPacket.decode(s.handle(v1, 'udp')!);
    expect([badvers.rcode, badvers.additionals?.[0]?.extendedRcode]).toEqual(['NOERROR', 1]);
    const plain = s.handle(Buffer.concat([q('cart.shop.svc.clusterset.local'), Buffer.from([1])]), 'udp')!;
    expect([rcodeOf(plain), plain.readUInt16BE(10)]).toEqual([1, 0]);
  });

  it('answers FORMERR to malformed queries and drops responses and scraps', () => {
    const good = q('cart.shop.svc.clusterset.local');
    expect(rcodeOf(s.handle(good.subarray(0, good.length - 1), 'udp')!)).toBe(1);
    const twoQuestions = Buffer.from(good);
    twoQuestions.writeUInt16BE(2, 4);
    expect(rcodeOf(s.handle(twoQuestions, 'udp')!)).toBe(1);
    const pointer = Buffer.concat([good.subarray(0, 12), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    expect(rcodeOf(s.handle(pointer, 'udp')!)).toBe(1);
    const trailing = Buffer.concat([good, Buffer.from([1, 2, 3])]);
    expect(rcodeOf(s.handle(trailing, 'udp')!)).toBe(1);
    const response = Buffer.from(good);
    response[2]! |= 0x80;
    expect(s.handle(response, 'udp')).toBeUndefined();
    expect(s.handle(Buffer.from([1, 2, 3]), 'udp')).toBeUndefined();
  });

  it('answers NOTIMP to other opcodes, keeping the opcode', () => {
    const status = q('cart.shop.svc.clusterset.local');
    status.writeUInt16BE((2 << 11) | 0x0100, 2);
    const out = s.handle(status, 'udp')!;
    expect(rcodeOf(out)).toBe(4);
    expect((flagsOf(out) >> 11) & 0xf).toBe(2);
  });

  it('refuses non-IN classes and never matches names with unprintable labels', () => {
    const chaos = q('cart.shop.svc.clusterset.local');
    chaos.writeUInt16BE(3, chaos.length - 2);
    expect(rcodeOf(s.handle(chaos, 'udp')!)).toBe(5);
    const weird = Buffer.concat([q('x').subarray(0, 12), Buffer.from([3, 0, 0x2e, 0xff]),
      dnsPacket.encode({ questions: [{ name: 'shop.svc.clusterset.local', type: 'A' }] }).subarray(12)]);
    const out = s.handle(weird, 'udp')!;
    expect(rcodeOf(out)).toBe(3);
    expect(out.subarray(12, 16).equals(Buffer.from([3, 0, 0x2e, 0xff]))).toBe(true);
  });
});

describe('DnsServer metrics', () => {
  it('counts answered queries by rcode and transport and observes one duration per answer', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const s = server(metrics);
    s.handle(q('cart.shop.svc.clusterset.local'), 'udp');
    s.handle(q('cart.shop.svc.clusterset.local'), 'tcp');
    s.handle(q('nope.shop.svc.clusterset.local'), 'udp');
    s.handle(q('example.com'), 'udp');
    s.handle(Buffer.from([1, 2, 3]), 'udp'); // dropped: no answer, not counted
    const counts = (await metrics.dnsQueries.get()).values.map((v) => `${v.labels.rcode}/${v.labels.transport}=${v.value}`).sort();
    expect(counts).toEqual(['NOERROR/tcp=1', 'NOERROR/udp=1', 'NXDOMAIN/udp=1', 'REFUSED/udp=1']);
    const observed = (await metrics.dnsDuration.get()).values.find((v) => v.metricName === 'plexus_agent_dns_query_duration_seconds_count');
    expect(observed?.value).toBe(4);
  });
});
