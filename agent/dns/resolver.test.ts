import { describe, expect, it } from 'vitest';
import { Resolver, type Resolution } from './resolver.ts';

function loaded(): Resolver {
  const r = new Resolver({ ttlSeconds: 5 });
  r.setService('shop', 'cart', {
    type: 'ClusterSetIP', ips: ['10.96.0.10', 'fd00::10'],
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }, { protocol: 'UDP', port: 53 }],
  });
  r.setService('db', 'pg', {
    type: 'Headless', ports: [{ name: 'sql', protocol: 'TCP', port: 5432 }],
    endpoints: [
      { cluster: 'east', addresses: ['10.1.0.1'], hostname: 'pg-0', ports: [{ name: 'sql', protocol: 'TCP', port: 15432 }] },
      { cluster: 'west', addresses: ['10.2.0.1', 'fd00::2:1'], hostname: 'pg-0' },
      { cluster: 'west', addresses: ['10.2.0.2'] },
    ],
  });
  r.markReady();
  return r;
}

const data = (res: Resolution) => (res.kind === 'answer' ? res.answers.map((a) => a.data) : res.kind);

describe('Resolver (Multicluster DNS v1.0.0)', () => {
  const r = loaded();

  it('answers A and AAAA of a ClusterSetIP service with its clusterset IPs', () => {
    expect(data(r.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'A' }))).toEqual(['10.96.0.10']);
    expect(data(r.resolve({ name: 'cart.shop.svc.clusterset.local.', type: 'AAAA' }))).toEqual(['fd00::10']);
  });

  it('has SRV for named ports only, pointing at the service name', () => {
    expect(data(r.resolve({ name: '_http._tcp.cart.shop.svc.clusterset.local', type: 'SRV' })))
      .toEqual([{ priority: 0, weight: 100, port: 80, target: 'cart.shop.svc.clusterset.local' }]);
    expect(r.resolve({ name: '_53._udp.cart.shop.svc.clusterset.local', type: 'SRV' }).kind).toBe('nxdomain');
  });

  it('has no <cluster>.<svc> names for ClusterSetIP services', () => {
    expect(r.resolve({ name: 'east.cart.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
  });

  it('answers every ready endpoint of a headless service, and per-host names', () => {
    expect(data(r.resolve({ name: 'pg.db.svc.clusterset.local', type: 'A' }))).toEqual(['10.1.0.1', '10.2.0.1', '10.2.0.2']);
    expect(data(r.resolve({ name: 'pg.db.svc.clusterset.local', type: 'AAAA' }))).toEqual(['fd00::2:1']);
    expect(data(r.resolve({ name: 'pg-0.west.pg.db.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.1']);
    expect(data(r.resolve({ name: '_sql._tcp.pg.db.svc.clusterset.local', type: 'SRV' }))).toEqual([
      { priority: 0, weight: 100, port: 15432, target: 'pg-0.east.pg.db.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 5432, target: 'pg-0.west.pg.db.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 5432, target: '10-2-0-2.west.pg.db.svc.clusterset.local' },
    ]);
  });

  it('endpoints without a hostname get a per-host name from their address (10-2-0-2, fd00--7) and an SRV record', () => {
    expect(data(r.resolve({ name: '10-2-0-2.west.pg.db.svc.clusterset.local', type: 'A' }))).toEqual(['10.2.0.2']);
    const x = new Resolver({ ttlSeconds: 5 });
    x.setService('db', 'v6', { type: 'Headless', ports: [{ protocol: 'TCP', port: 80 }], endpoints: [{ cluster: 'east', addresses: ['fd00::7'] }] });
    x.markReady();
    expect(data(x.resolve({ name: 'fd00--7.east.v6.db.svc.clusterset.local', type: 'AAAA' }))).toEqual(['fd00::7']);
    expect(data(x.resolve({ name: 'v6.db.svc.clusterset.local', type: 'SRV' })))
      .toEqual([{ priority: 0, weight: 100, port: 80, target: 'fd00--7.east.v6.db.svc.clusterset.local' }]);
  });

  it('SRV on the bare service name: one record per port, named or not, deduplicated (ClusterSetIP targets the service)', () => {
    expect(data(r.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'SRV' }))).toEqual([
      { priority: 0, weight: 100, port: 80, target: 'cart.shop.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 53, target: 'cart.shop.svc.clusterset.local' },
    ]);
    // The conformance suite's hello service: tcp/42 and udp/42 give one record.
    const x = new Resolver({ ttlSeconds: 5 });
    x.setService('ns', 'hello', { type: 'ClusterSetIP', ips: ['10.96.0.42'], ports: [{ name: 'tcp', protocol: 'TCP', port: 42 }, { name: 'udp', protocol: 'UDP', port: 42 }] });
    x.markReady();
    expect(data(x.resolve({ name: 'hello.ns.svc.clusterset.local', type: 'SRV' })))
      .toEqual([{ priority: 0, weight: 100, port: 42, target: 'hello.ns.svc.clusterset.local' }]);
  });

  it('SRV on the bare name of a headless service: one record per endpoint and port, at its target port', () => {
    expect(data(r.resolve({ name: 'pg.db.svc.clusterset.local', type: 'SRV' }))).toEqual([
      { priority: 0, weight: 100, port: 15432, target: 'pg-0.east.pg.db.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 5432, target: 'pg-0.west.pg.db.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 5432, target: '10-2-0-2.west.pg.db.svc.clusterset.local' },
    ]);
  });

  it('hostname collisions within a cluster do not make a name that holds two endpoints', () => {
    const x = new Resolver({ ttlSeconds: 5 });
    x.setService('db', 'pg', {
      type: 'Headless', ports: [],
      endpoints: [
        { cluster: 'east', addresses: ['10.1.0.1'], hostname: 'web' },
        { cluster: 'east', addresses: ['10.1.0.2'], hostname: 'web' },
        { cluster: 'west', addresses: ['10.2.0.1'], hostname: 'web' },
        // A dual-stack pod appears once per family and keeps its name.
        { cluster: 'west', addresses: ['10.2.0.2'], hostname: 'ds' },
        { cluster: 'west', addresses: ['fd00::2:2'], hostname: 'ds' },
        // A hostname that looks like another endpoint's address name wins; the address name is left out.
        { cluster: 'west', addresses: ['10.2.0.9'], hostname: '10-2-0-3' },
        { cluster: 'west', addresses: ['10.2.0.3'] },
      ],
    });
    x.markReady();
    const a = (n: string, t = 'A') => data(x.resolve({ name: `${n}.pg.db.svc.clusterset.local`, type: t }));
    expect(a('web.east')).toBe('nxdomain');
    expect([a('10-1-0-1.east'), a('10-1-0-2.east')]).toEqual([['10.1.0.1'], ['10.1.0.2']]);
    expect(a('web.west')).toEqual(['10.2.0.1']);
    expect([a('ds.west'), a('ds.west', 'AAAA')]).toEqual([['10.2.0.2'], ['fd00::2:2']]);
    expect(a('10-2-0-3.west')).toEqual(['10.2.0.9']);
  });

  it('gives NXDOMAIN for a headless service with no ready endpoint', () => {
    const x = loaded();
    x.setService('db', 'pg', { type: 'Headless', ports: [], endpoints: [] });
    expect(x.resolve({ name: 'pg.db.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    expect(x.resolve({ name: 'pg-0.east.pg.db.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
  });

  it('the zone apex has an NS record, ns.dns.<zone>, whose A/AAAA the server answers', () => {
    const x = new Resolver({ ttlSeconds: 5, nameservers: ['10.0.0.53', 'fd00::53'] });
    expect(data(x.resolve({ name: 'clusterset.local', type: 'NS' }))).toEqual(['ns.dns.clusterset.local']);
    expect(data(x.resolve({ name: 'ns.dns.clusterset.local', type: 'A' }))).toEqual(['10.0.0.53']);
    expect(data(x.resolve({ name: 'ns.dns.clusterset.local', type: 'AAAA' }))).toEqual(['fd00::53']);
    expect(x.resolve({ name: 'dns.clusterset.local', type: 'A' }).kind).toBe('nodata');
    const soa = x.soa();
    expect(soa.type === 'SOA' && soa.data.mname).toBe('ns.dns.clusterset.local');
  });

  it('the SOA serial changes, growing, whenever the zone does (time of the change, or one more)', () => {
    let now = 1_700_000_000_000;
    const x = new Resolver({ ttlSeconds: 5, now: () => now });
    const serial = () => { const s = x.soa(); return s.type === 'SOA' ? s.data.serial : -1; };
    const first = serial();
    expect(first).toBe(1_700_000_000);
    x.setService('shop', 'cart', { type: 'ClusterSetIP', ips: ['10.96.0.10'], ports: [] });
    x.setService('shop', 'cart', { type: 'ClusterSetIP', ips: ['10.96.0.11'], ports: [] });
    expect(serial()).toBe(first + 2);
    now += 60_000;
    x.setService('shop', 'cart', undefined);
    expect(serial()).toBe(1_700_000_060);
    x.setService('shop', 'gone', undefined);
    expect(serial()).toBe(1_700_000_060);
  });

  it('serves dns-version TXT "1.0.0" and the apex SOA', () => {
    expect(data(r.resolve({ name: 'dns-version.clusterset.local', type: 'TXT' }))).toEqual([['1.0.0']]);
    expect(r.resolve({ name: 'clusterset.local', type: 'SOA' }).kind).toBe('answer');
  });

  it('gives NODATA for a known name of another type and for empty non-terminals', () => {
    expect(r.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'TXT' }).kind).toBe('nodata');
    expect(r.resolve({ name: 'shop.svc.clusterset.local', type: 'A' }).kind).toBe('nodata');
    expect(r.resolve({ name: 'svc.clusterset.local', type: 'A' }).kind).toBe('nodata');
    expect(r.resolve({ name: 'west.pg.db.svc.clusterset.local', type: 'A' }).kind).toBe('nodata');
  });

  it('gives NXDOMAIN for unknown names in the zone and REFUSED outside it', () => {
    expect(r.resolve({ name: 'nope.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    expect(r.resolve({ name: 'cart.shop.svc.cluster.local', type: 'A' }).kind).toBe('refused');
    expect(r.resolve({ name: 'xclusterset.local', type: 'A' }).kind).toBe('refused');
    expect(r.resolve({ name: '.', type: 'A' }).kind).toBe('refused');
  });

  it('matches names case-insensitively', () => {
    expect(data(r.resolve({ name: 'CaRt.Shop.SVC.ClusterSet.Local', type: 'A' }))).toEqual(['10.96.0.10']);
  });

  it('answers ANY with every record of the name', () => {
    expect(data(r.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'ANY' }))).toEqual(['10.96.0.10', 'fd00::10',
      { priority: 0, weight: 100, port: 80, target: 'cart.shop.svc.clusterset.local' },
      { priority: 0, weight: 100, port: 53, target: 'cart.shop.svc.clusterset.local' }]);
  });

  it('leaves out names over 253 characters and never matches over-long questions', () => {
    const x = new Resolver({ ttlSeconds: 5 });
    const l63 = (c: string) => c.repeat(63);
    x.setService(l63('n'), l63('s'), { type: 'Headless', ports: [], endpoints: [{ cluster: l63('c'), addresses: ['10.0.0.1'], hostname: l63('h') }] });
    x.markReady();
    expect(data(x.resolve({ name: `${l63('s')}.${l63('n')}.svc.clusterset.local`, type: 'A' }))).toEqual(['10.0.0.1']);
    expect(x.resolve({ name: `${l63('h')}.${l63('c')}.${l63('s')}.${l63('n')}.svc.clusterset.local`, type: 'A' }).kind).toBe('nxdomain');
    expect(x.resolve({ name: `${'a'.repeat(64)}.svc.clusterset.local`, type: 'A' }).kind).toBe('nxdomain');
  });

  it('answers SERVFAIL in the zone until the feeder marks it ready', () => {
    const x = new Resolver({ ttlSeconds: 5 });
    expect(x.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'A' }).kind).toBe('servfail');
    expect(x.resolve({ name: 'dns-version.clusterset.local', type: 'TXT' }).kind).toBe('answer');
    x.markReady();
    expect(x.resolve({ name: 'cart.shop.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
  });

  it('removes every name of a service and bumps the version on each change', () => {
    const x = loaded();
    const v = x.version;
    x.setService('db', 'pg', undefined);
    expect(x.version).toBeGreaterThan(v);
    expect(x.resolve({ name: 'pg-0.east.pg.db.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    expect(x.resolve({ name: 'db.svc.clusterset.local', type: 'A' }).kind).toBe('nxdomain');
    expect(x.resolve({ name: 'shop.svc.clusterset.local', type: 'A' }).kind).toBe('nodata');
  });

  it('keeps the version when a service is set to the records it already has (pre-encoded answers survive)', () => {
    const x = new Resolver({ ttlSeconds: 5 });
    const cart = (ips: string[]) => ({ type: 'ClusterSetIP' as const, ips, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
    x.setService('shop', 'cart', cart(['10.96.0.10']));
    const v = x.version;
    x.setService('shop', 'cart', cart(['10.96.0.10']));
    x.setService('shop', 'gone', undefined);
    expect(x.version).toBe(v);
    x.setService('shop', 'cart', cart(['10.96.0.11']));
    expect(x.version).toBeGreaterThan(v);
    const w = x.version;
    x.setService('shop', 'cart', 'pending');
    expect(x.version).toBeGreaterThan(w);
    x.setService('shop', 'cart', 'pending');
    expect(x.version).toBe(w + 1);
    x.setService('shop', 'cart', undefined);
    expect(x.version).toBe(w + 2);
  });
});
