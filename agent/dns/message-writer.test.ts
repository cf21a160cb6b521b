// The compressing writer against an independent decoder (dns-packet follows pointers).
import { isIPv6 } from 'node:net';
import dnsPacket from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { MessageWriter, ipv6Groups } from './message-writer.ts';
import type { ResourceRecord } from './resolver.ts';

function wire(name: string): Buffer {
  return dnsPacket.encode({ questions: [{ name, type: 'A' }] }).subarray(12, -4);
}

/** Decoded data with names lower-cased (pointers into the question carry its case) and TXT buffers as text. */
function lower(v: unknown): unknown {
  if (typeof v === 'string') return /^[A-Z]+$/.test(v) ? v : v.toLowerCase();
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map(lower);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, lower(x)]));
  return v;
}

describe('MessageWriter', () => {
  const svc = 'pg.db.svc.clusterset.local';
  const records: ResourceRecord[] = [
    { name: svc, type: 'A', class: 'IN', ttl: 5, data: '10.1.0.1' },
    { name: svc, type: 'AAAA', class: 'IN', ttl: 5, data: 'fd00::2:1' },
    { name: svc, type: 'SRV', class: 'IN', ttl: 5, data: { priority: 0, weight: 100, port: 5432, target: `pg-0.east.${svc}` } },
    { name: `pg-0.east.${svc}`, type: 'A', class: 'IN', ttl: 5, data: '10.1.0.2' },
    { name: 'dns-version.clusterset.local', type: 'TXT', class: 'IN', ttl: 5, data: ['1.0.0'] },
    { name: 'clusterset.local', type: 'NS', class: 'IN', ttl: 5, data: 'ns.dns.clusterset.local' },
    { name: 'clusterset.local', type: 'SOA', class: 'IN', ttl: 5, data: { mname: 'ns.dns.clusterset.local', rname: 'hostmaster.clusterset.local', serial: 1_700_000_000, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } },
  ];

  it('writes every record type so an independent decoder reads back the same records, with names compressed', () => {
    const w = new MessageWriter();
    w.header(7, 0x8400);
    w.question(wire('PG.db.svc.ClusterSet.local'), 1, 1);
    for (const rr of records) w.record(rr);
    w.opt({ udpPayloadSize: 1232, extendedRcode: 0, version: 0, flags: 0x8000 });
    w.counts(records.length, 0, 1);
    const out = w.finish();
    const d = dnsPacket.decode(out);
    expect(d.questions).toEqual([{ name: 'PG.db.svc.ClusterSet.local', type: 'A', class: 'IN' }]);
    // Owner names point at the question, so they read back in the question's case (as CoreDNS answers).
    expect(d.answers?.map((a) => lower([a.name, a.type, a.data]))).toEqual(records.map((r) => [r.name, r.type, r.data]));
    expect(d.additionals?.[0]).toMatchObject({ type: 'OPT', udpPayloadSize: 1232, flag_do: true });
    // The svc name appears whole in the question and in the SRV target (never compressed); every other one is a 2-byte pointer.
    expect(out.toString('latin1').split('\u0002pg\u0002db').length - 1).toBe(1);
    expect(out.toString('latin1').split('\u0002PG\u0002db').length - 1).toBe(1);
  });

  it('never compresses SRV targets (RFC 2782) and never points into a question label that is not text', () => {
    const w = new MessageWriter();
    w.header(1, 0x8400);
    const odd = Buffer.concat([Buffer.from([2, 0x2e, 0xff]), wire(svc)]);
    w.question(odd, 33, 1);
    w.record(records[2]!);
    w.counts(1, 0, 0);
    const out = w.finish();
    expect(out.includes(wire(`pg-0.east.${svc}`))).toBe(true);
    const d = dnsPacket.decode(out);
    expect(d.answers?.[0]?.name).toBe(svc);
  });

  it('reads IPv6 addresses in every textual form', () => {
    for (const ip of ['::', '::1', 'fd00::2:1', '2001:db8:0:0:1:0:0:1', '::ffff:10.1.2.3', '1::']) {
      expect(isIPv6(ip)).toBe(true);
      const groups = ipv6Groups(ip);
      const text = groups.map((g) => g.toString(16)).join(':');
      expect(new URL(`http://[${text}]/`).hostname, ip).toBe(new URL(`http://[${ip}]/`).hostname);
    }
  });
});
