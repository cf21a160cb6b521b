// The agent's DNS server on a real socket, checked with the real `dig` over UDP and TCP:
// every record type and rcode of the Multicluster DNS spec, case echo, EDNS, and TC with
// the TCP fallback. Malformed packets go over a raw UDP socket.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resolver } from '../../agent/dns/resolver.ts';
import { DnsServer } from '../../agent/dns/server.ts';
import { dig, rdata, sampleResolver } from '../e2e/support/dig.ts';

const run = promisify(execFile);

let server: DnsServer;
let port: number;
const host = '127.0.0.1';

beforeAll(async () => {
  server = new DnsServer({ resolver: sampleResolver(), logger: pino({ level: 'silent' }) });
  port = (await server.listen(host, 0)).port;
});
afterAll(async () => { await server.close(); });

describe.each([['udp', '+notcp'], ['tcp', '+tcp']])('dig over %s', (_transport, mode) => {
  const q = (...args: string[]) => dig(host, port, [mode, ...args]);

  it('A and AAAA of a ClusterSetIP service are its clusterset IPs, with the configured TTL', async () => {
    const a = await q('cart.shop.svc.clusterset.local', 'A');
    expect([a.status, rdata(a)]).toEqual(['NOERROR', ['10.96.0.10']]);
    expect(a.answers[0]![1]).toBe('5');
    expect(a.flags).toContain('aa');
    expect(rdata(await q('cart.shop.svc.clusterset.local', 'AAAA'))).toEqual(['fd00:96::10']);
  });

  it('SRV under _port._proto exists for named ports only and targets the service (ClusterSetIP) or per-host names (headless)', async () => {
    expect(rdata(await q('_http._tcp.cart.shop.svc.clusterset.local', 'SRV'))).toEqual(['0 100 80 cart.shop.svc.clusterset.local.']);
    expect((await q('_8443._tcp.cart.shop.svc.clusterset.local', 'SRV')).status).toBe('NXDOMAIN');
    expect(rdata(await q('_sql._tcp.pg.db.svc.clusterset.local', 'SRV'))).toEqual([
      '0 100 5432 10-2-0-2.west.pg.db.svc.clusterset.local.', '0 100 5432 pg-0.east.pg.db.svc.clusterset.local.', '0 100 5432 pg-0.west.pg.db.svc.clusterset.local.',
    ]);
  });

  it('headless: every ready endpoint on the service name, per-host names per cluster', async () => {
    expect(rdata(await q('pg.db.svc.clusterset.local', 'A'))).toEqual(['10.1.0.1', '10.2.0.1', '10.2.0.2']);
    expect(rdata(await q('pg-0.west.pg.db.svc.clusterset.local', 'A'))).toEqual(['10.2.0.1']);
    expect((await q('east.cart.shop.svc.clusterset.local', 'A')).status).toBe('NXDOMAIN');
  });

  it('dns-version.clusterset.local TXT is "1.0.0"', async () => {
    expect(rdata(await q('dns-version.clusterset.local', 'TXT'))).toEqual(['"1.0.0"']);
  });

  it('NXDOMAIN and NODATA carry the SOA in authority; other zones are REFUSED', async () => {
    const nx = await q('nope.shop.svc.clusterset.local', 'A');
    expect([nx.status, nx.answers.length, nx.authority[0]?.[3]]).toEqual(['NXDOMAIN', 0, 'SOA']);
    const nodata = await q('cart.shop.svc.clusterset.local', 'TXT');
    expect([nodata.status, nodata.answers.length, nodata.authority[0]?.[3]]).toEqual(['NOERROR', 0, 'SOA']);
    const ent = await q('shop.svc.clusterset.local', 'A');
    expect([ent.status, ent.answers.length]).toEqual(['NOERROR', 0]);
    expect((await q('kubernetes.default.svc.cluster.local', 'A')).status).toBe('REFUSED');
  });

  it('echoes the question exactly as asked and matches case-insensitively', async () => {
    const r = await q('CaRt.SHOP.Svc.ClusterSet.LOCAL', 'A');
    expect(r.question).toBe('CaRt.SHOP.Svc.ClusterSet.LOCAL.');
    expect(rdata(r)).toEqual(['10.96.0.10']);
  });

  it('honours EDNS(0): OPT in the reply advertising 4096, none without EDNS, BADVERS for version 1', async () => {
    expect((await q('cart.shop.svc.clusterset.local')).edns).toMatch(/version: 0, flags:.*; udp: 4096/);
    expect((await q('+noedns', 'cart.shop.svc.clusterset.local')).edns).toBeUndefined();
    expect((await q('+edns=1', '+noednsneg', 'cart.shop.svc.clusterset.local')).status).toBe('BADVERS');
  });
});

describe('truncation and TCP fallback', () => {
  it('sets TC over UDP for a headless service with many endpoints; dig retries over TCP and gets them all', async () => {
    const udp = await dig(host, port, ['+notcp', '+ignore', 'big.db.svc.clusterset.local', 'A']);
    expect(udp.flags).toContain('tc');
    expect(udp.answers.length).toBe(0);
    const small = await dig(host, port, ['+notcp', '+ignore', '+noedns', 'big.db.svc.clusterset.local', 'A']);
    expect(small.flags).toContain('tc');
    const fallback = await dig(host, port, ['+notcp', 'big.db.svc.clusterset.local', 'A']);
    expect(fallback.raw).toContain('Truncated, retrying in TCP mode');
    expect([fallback.status, fallback.answers.length]).toEqual(['NOERROR', 120]);
  });
});

/** One query over a fresh TCP connection (RFC 7766 framing); the first reply. */
async function tcpQuery(p: number, packet: Buffer): Promise<Buffer> {
  const sock = net.connect(p, host);
  try {
    const frame = Buffer.alloc(2 + packet.length);
    frame.writeUInt16BE(packet.length, 0);
    packet.copy(frame, 2);
    sock.write(frame);
    let got = Buffer.alloc(0);
    for await (const chunk of sock) {
      got = Buffer.concat([got, chunk as Buffer]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) return got.subarray(2, 2 + got.readUInt16BE(0));
    }
    throw new Error('connection closed before a reply');
  } finally {
    sock.destroy();
  }
}

describe('issue 12 edges of the spec, with dig', () => {
  it('answers are compressed: a headless service with 60 endpoints is not truncated with +bufsize=4096', async () => {
    const r = new Resolver({ ttlSeconds: 5 });
    r.setService('db', 'sixty', {
      type: 'Headless', ports: [{ protocol: 'TCP', port: 5432 }],
      endpoints: Array.from({ length: 60 }, (_, i) => ({ cluster: 'east', addresses: [`10.4.0.${i}`] })),
    });
    r.markReady();
    const s60 = new DnsServer({ resolver: r, logger: pino({ level: 'silent' }) });
    const p60 = (await s60.listen(host, 0)).port;
    try {
      const a = await dig(host, p60, ['+notcp', '+ignore', '+bufsize=4096', 'sixty.db.svc.clusterset.local', 'A']);
      expect([a.status, a.flags.includes('tc'), a.answers.length]).toEqual(['NOERROR', false, 60]);
      // Endpoints without a hostname are named after their address, and SRV on the bare name targets them.
      // SRV per endpoint is about 3.4 kB: over UDP it fills the advertised 4096 untruncated.
      const srv = await dig(host, p60, ['+notcp', '+ignore', '+bufsize=4096', 'sixty.db.svc.clusterset.local', 'SRV']);
      expect([srv.flags.includes('tc'), srv.answers.length]).toEqual([false, 60]);
      expect(rdata(srv)).toContain('0 100 5432 10-4-0-7.east.sixty.db.svc.clusterset.local.');
      expect(rdata(await dig(host, p60, ['10-4-0-7.east.sixty.db.svc.clusterset.local', 'A']))).toEqual(['10.4.0.7']);
    } finally {
      await s60.close();
    }
  });

  it('SRV on the bare service name answers one record per port (unnamed too) targeting the service', async () => {
    expect(rdata(await dig(host, port, ['cart.shop.svc.clusterset.local', 'SRV']))).toEqual([
      '0 100 80 cart.shop.svc.clusterset.local.', '0 100 8443 cart.shop.svc.clusterset.local.',
    ]);
  });

  it('the apex has an NS record whose A record the server answers', async () => {
    expect(rdata(await dig(host, port, ['clusterset.local', 'NS']))).toEqual(['ns.dns.clusterset.local.']);
    const a = await dig(host, port, ['ns.dns.clusterset.local', 'A']);
    expect([a.status, a.flags]).toEqual(['NOERROR', expect.arrayContaining(['aa'])]);
    expect(rdata(a)).toEqual(['127.0.0.1']);
  });

  it('refuses zone transfers (AXFR, IXFR over TCP answer REFUSED)', async () => {
    for (const type of ['AXFR', 'IXFR'] as const) {
      const reply = await tcpQuery(port, dnsPacket.encode({ type: 'query', id: 99, questions: [{ name: 'clusterset.local', type }] }));
      expect([reply.readUInt16BE(0), reply.readUInt16BE(2) & 0xf]).toEqual([99, 5]);
    }
    const { stdout } = await run('dig', [`@${host}`, '-p', String(port), '+time=2', '+tries=1', 'clusterset.local', 'AXFR']);
    expect(stdout).toContain('Transfer failed');
  });

  it('an error reply to a query with an OPT record carries one (NOTIMP for opcode STATUS)', async () => {
    const d = await dig(host, port, ['+opcode=2', '+edns=0', 'cart.shop.svc.clusterset.local']);
    expect(d.status).toBe('NOTIMP');
    expect(d.edns).toMatch(/version: 0, flags:.*; udp: 4096/);
  });
});

describe('malformed packets over a real socket', () => {
  async function send(packet: Buffer): Promise<Buffer | undefined> {
    const sock = dgram.createSocket('udp4');
    try {
      sock.send(packet, port, host);
      const timer = new Promise<undefined>((resolve) => { setTimeout(() => resolve(undefined), 300).unref(); });
      const reply = once(sock, 'message').then(([msg]) => msg as Buffer);
      return await Promise.race([reply, timer]);
    } finally {
      sock.close();
    }
  }

  it('answers FORMERR to a truncated question and a compression pointer, and keeps serving', async () => {
    const header = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    const truncated = await send(Buffer.concat([header, Buffer.from([4, 0x63, 0x61])]));
    expect([truncated?.readUInt16BE(0), truncated && truncated.readUInt16BE(2) & 0xf]).toEqual([0x1234, 1]);
    const loop = await send(Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])]));
    expect(loop && loop.readUInt16BE(2) & 0xf).toBe(1);
    expect(rdata(await dig(host, port, ['cart.shop.svc.clusterset.local']))).toEqual(['10.96.0.10']);
  });
});
