import { describe, expect, it } from 'vitest';
import { GatewayTunnels } from './gateway-tunnels.ts';
import type { TunnelRequest } from './import-plan.ts';
import { TunnelPorts } from './tunnel-ports.ts';
import { parseTunnelTable, serializeTunnelTable, tunnelKey } from './tunnel-table.ts';

const req = (cluster: string, name: string, port: number, gateway = '192.0.2.10:15443'): TunnelRequest => {
  const t = { cluster, gateway, namespace: 'shop', name, port, protocol: 'TCP' as const };
  return { ...t, key: tunnelKey(t), portName: 'p' + port };
};

describe('tunnel port allocation', () => {
  it('gives a key the same port in a fresh allocator (hash-derived), and within the range', () => {
    const a = new TunnelPorts({ min: 20000, max: 29999 });
    const b = new TunnelPorts({ min: 20000, max: 29999 });
    const keys = ['east/shop/web/TCP/80', 'east/shop/web/TCP/443', 'west/shop/cart/TCP/80'];
    const pa = a.assign('shop/web', keys).ports;
    const pb = b.assign('shop/web', [...keys].reverse()).ports;
    expect([...pa].sort()).toEqual([...pb].sort());
    for (const p of pa.values()) expect(p >= 20000 && p <= 29999).toBe(true);
  });

  it('never gives one port to two keys, even when every key hashes into a range of four', () => {
    const t = new TunnelPorts({ min: 100, max: 103 });
    const r1 = t.assign('shop/a', ['c1/shop/a/TCP/1', 'c1/shop/a/TCP/2']);
    const r2 = t.assign('shop/b', ['c1/shop/b/TCP/1', 'c1/shop/b/TCP/2']);
    const all = [...r1.ports.values(), ...r2.ports.values()];
    expect(new Set(all).size).toBe(4);
    expect(t.assign('shop/c', ['c1/shop/c/TCP/1']).exhausted).toEqual(['c1/shop/c/TCP/1']);
  });

  it('keeps existing ports when other keys come and go, and frees a released key\'s port', () => {
    const t = new TunnelPorts({ min: 100, max: 101 });
    const first = t.assign('shop/a', ['k1']).ports.get('k1')!;
    const second = t.assign('shop/b', ['k2']).ports.get('k2')!;
    expect(t.assign('shop/a', ['k1']).ports.get('k1')).toBe(first);
    t.assign('shop/b', []);
    expect(t.size).toBe(1);
    expect(t.assign('shop/c', ['k3']).ports.get('k3')).toBe(second);
  });

  it('an agent restarted with the published table keeps every listen port, though a fresh allocator in the other order would swap them', () => {
    const range = { min: 100, max: 101 };
    const probe = new TunnelPorts(range);
    // Two services whose keys hash to the same slot: the first reconciled gets it.
    const b = req('east', 'b', 80);
    let n = 0;
    while (probe.preferredPort(req('east', `a${n}`, 80).key) !== probe.preferredPort(b.key)) n++;
    const a = req('east', `a${n}`, 80);
    const before = new GatewayTunnels({ range, localAddresses: ['10.0.0.9'] });
    before.assign('shop/b', [b]);
    before.assign(`shop/a${n}`, [a]);
    const published = serializeTunnelTable(before.table());

    const fresh = new GatewayTunnels({ range, localAddresses: ['10.0.0.9'] });
    fresh.assign(`shop/a${n}`, [a]);
    fresh.assign('shop/b', [b]);
    expect(serializeTunnelTable(fresh.table())).not.toBe(published);

    const after = new GatewayTunnels({ range, localAddresses: ['10.0.0.9'] });
    const table = parseTunnelTable(published);
    if (typeof table === 'string') throw new Error(table);
    expect(after.seed(table)).toEqual([]);
    after.assign(`shop/a${n}`, [a]);
    after.assign('shop/b', [b]);
    expect(serializeTunnelTable(after.table())).toBe(published);
  });

  it('drops seeded entries outside a narrowed range and reallocates them inside it', () => {
    const wide = new GatewayTunnels({ range: { min: 100, max: 199 }, localAddresses: ['10.0.0.9'] });
    wide.assign('shop/web', [req('east', 'web', 80)]);
    const narrow = new GatewayTunnels({ range: { min: 300, max: 309 }, localAddresses: ['10.0.0.9'] });
    expect(narrow.seed(wide.table())).toHaveLength(1);
    const port = narrow.assign('shop/web', [req('east', 'web', 80)]).ports.get(req('east', 'web', 80).key)!;
    expect(port >= 300 && port <= 309).toBe(true);
  });

  it('reports a change only when an import\'s tunnels or their gateway change', () => {
    const t = new GatewayTunnels({ range: { min: 100, max: 199 }, localAddresses: ['10.0.0.9'] });
    let changes = 0;
    t.onChange(() => changes++);
    t.assign('shop/web', [req('east', 'web', 80)]);
    t.assign('shop/web', [req('east', 'web', 80)]);
    expect(changes).toBe(1);
    t.assign('shop/web', [req('east', 'web', 80, '192.0.2.11:15443')]);
    expect(changes).toBe(2);
    expect(t.table().tunnels[0]!.gateway).toBe('192.0.2.11:15443');
    t.assign('shop/web', []);
    expect(changes).toBe(3);
    expect(t.table().tunnels).toEqual([]);
  });
});

describe('tunnel table schema', () => {
  it('refuses duplicate listen ports, non-TCP entries and loopback gateways', () => {
    const entry = { listenPort: 100, cluster: 'east', gateway: '192.0.2.1:15443', namespace: 'shop', name: 'web', port: 80, protocol: 'TCP' };
    const table = (tunnels: unknown[]) => JSON.stringify({ version: 1, localAddresses: ['10.0.0.9'], tunnels });
    expect(typeof parseTunnelTable(table([entry]))).toBe('object');
    expect(parseTunnelTable(table([entry, { ...entry, name: 'cart' }]))).toMatch(/listenPort 100 appears twice/);
    expect(parseTunnelTable(table([{ ...entry, protocol: 'UDP' }]))).toMatch(/does not match the schema/);
    expect(parseTunnelTable(table([{ ...entry, gateway: '127.0.0.1:15443' }]))).toMatch(/loopback/);
    expect(parseTunnelTable('{')).toMatch(/not JSON/);
  });
});
