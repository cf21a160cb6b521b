// End to end, networks: two real control planes, a real broker process and two
// `plexus agent run` processes on different networks. cluster-1 (net-a) runs a gateway
// (pod IP 10.0.9.9 as far as its slices are concerned); cluster-2 (net-b) advertises its
// gateway at 203.0.113.5:15443. Pins the wiring from the CLI flags through the
// advertisement to the imported slices, the tunnel table ConfigMap and the export
// condition for a UDP port. No gateway process runs: this is the agent side only.
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseTunnelTable, TUNNEL_TABLE_CONFIG_MAP, TUNNEL_TABLE_KEY } from '../../agent/network/tunnel-table.ts';
import { createService, ensureNamespace, exportConditions, exportService, importedSlices, setEndpoints } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const SETUP_MS = 120_000;

describe('networks: imports across networks through the local gateway', () => {
  const fixture = useMesh({
    clusters: 2,
    agentArgs: (c) => (c === 'cluster-1'
      ? ['--network', 'net-a', '--gateway-service-address', '10.0.9.9', '--tunnel-ports', '21000-21099']
      : ['--network', 'net-b', '--gateway-address', '203.0.113.5:15443']),
  });
  const c = (i: number) => fixture.mesh.cluster(i);

  it('points cluster-2\'s endpoints at cluster-1\'s gateway, publishes the tunnel, and marks the UDP port ProtocolNotTunneled', async () => {
    for (const i of [0, 1]) await ensureNamespace(c(i), 'shop');
    await createService(c(1), 'shop', 'cart', {
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }],
    });
    await setEndpoints(c(1), 'shop', 'cart', ['10.2.0.1', '10.2.0.2']);
    await exportService(c(1), 'shop', 'cart');

    const table = await waitFor(async () => {
      const cm = await c(0).client(CoreV1Api).readNamespacedConfigMap({ namespace: 'plexus-system', name: TUNNEL_TABLE_CONFIG_MAP }).catch(() => undefined);
      const raw = cm?.data?.[TUNNEL_TABLE_KEY];
      const t = raw === undefined ? undefined : parseTunnelTable(raw);
      return typeof t === 'object' && t.tunnels.length === 1 && t;
    }, { what: 'tunnel table in cluster-1', timeoutMs: SETUP_MS });
    const [tunnel] = table.tunnels;
    expect(tunnel).toMatchObject({ cluster: 'cluster-2', gateway: '203.0.113.5:15443', namespace: 'shop', name: 'cart', port: 80, protocol: 'TCP' });
    expect(tunnel!.listenPort).toBeGreaterThanOrEqual(21000);
    expect(tunnel!.listenPort).toBeLessThanOrEqual(21099);

    const slices = await waitFor(async () => {
      const s = await importedSlices(c(0), 'shop', 'cart', 'cluster-2');
      return s.length === 1 && s[0]!.ports?.[0]?.port === tunnel!.listenPort && s;
    }, { what: 'cart slice via the gateway in cluster-1', timeoutMs: SETUP_MS });
    expect(slices[0]!.endpoints!.map((e) => e.addresses[0])).toEqual(['10.0.9.9']);
    expect(slices[0]!.ports).toEqual([{ name: 'http', protocol: 'TCP', port: tunnel!.listenPort }]);

    // In its own cluster (and network), the export's endpoints stay direct.
    const own = await waitFor(async () => {
      const s = await importedSlices(c(1), 'shop', 'cart', 'cluster-2');
      return s.length === 1 && s;
    }, { what: 'cart slice in cluster-2', timeoutMs: SETUP_MS });
    expect(own[0]!.endpoints!.map((e) => e.addresses[0]).sort()).toEqual(['10.2.0.1', '10.2.0.2']);

    const cross = await waitFor(async () => (await exportConditions(c(1), 'shop', 'cart')).find((x) => x.type === 'CrossNetwork'), { what: 'CrossNetwork on the export', timeoutMs: SETUP_MS });
    expect(cross).toMatchObject({ status: 'False', reason: 'ProtocolNotTunneled' });
    expect(cross.message).toContain('dns 53/UDP');
  });

  it('a frozen remote cluster (its gateway unhealthy) leaves cluster-1\'s slices within the failover bound and returns on the same port', async () => {
    const port = await waitFor(async () => (await importedSlices(c(0), 'shop', 'cart', 'cluster-2'))[0]?.ports?.[0]?.port, { what: 'cart via the gateway', timeoutMs: SETUP_MS });
    const t0 = performance.now();
    fixture.mesh.signalAgent('cluster-2', 'SIGSTOP');
    try {
      await waitFor(async () => (await importedSlices(c(0), 'shop', 'cart', 'cluster-2')).length === 0, { what: 'cluster-2 out of cluster-1', timeoutMs: 10_000 });
      const outMs = performance.now() - t0;
      console.log(`[networks] frozen cluster behind a gateway out of the slices in ${Math.round(outMs)} ms`);
      expect(outMs).toBeLessThan(10_000);
    } finally {
      fixture.mesh.signalAgent('cluster-2', 'SIGCONT');
    }
    const back = await waitFor(async () => {
      const s = await importedSlices(c(0), 'shop', 'cart', 'cluster-2');
      return s.length === 1 && s;
    }, { what: 'cluster-2 back in cluster-1', timeoutMs: SETUP_MS });
    expect(back[0]!.ports?.[0]?.port).toBe(port);
  });
});
