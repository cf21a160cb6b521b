// Cross-cluster DNS discovery end to end: real control planes, a real broker, real
// `plexus agent run` processes serving clusterset.local, the real `dig`, and a real
// CoreDNS forwarding the zone to an agent as a stub domain. A Service exported from
// cluster-1 resolves in cluster-2 to its clusterset IP (the derived Service's ClusterIP);
// a headless one to its ready endpoints and per-host names; withdrawal gives NXDOMAIN.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchCorefile } from '../../agent/dns/corefile.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { freePorts } from '../harness/free-ports.ts';
import { dig, rdata, startCoredns } from './support/dig.ts';
import { createService, ensureNamespace, exportService, serviceImport, setEndpoints, unexportService } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('clusterset.local DNS across two clusters', () => {
  const fixture = useMesh({ clusters: 2 });
  const c = (i: number) => fixture.mesh.cluster(i);
  const agentDig = (args: string[]) => {
    const { host, port } = fixture.mesh.dnsAddress('cluster-2');
    return dig(host, port, args);
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-e2e-dns-'));
  let coredns: ReturnType<typeof startCoredns> | undefined;
  afterAll(async () => {
    await coredns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Every test can run alone (-t): the services they query are exported here, not by an earlier test.
  beforeAll(async () => {
    for (const i of [0, 1]) await ensureNamespace(c(i), 'shop');
    await createService(c(0), 'shop', 'cart');
    await setEndpoints(c(0), 'shop', 'cart', ['10.1.0.1', '10.1.0.2']);
    await exportService(c(0), 'shop', 'cart');
    await createService(c(0), 'shop', 'db', { clusterIP: 'None' });
    await setEndpoints(c(0), 'shop', 'db', ['10.1.1.1', '10.1.1.2'], ['10.1.1.9']);
    await exportService(c(0), 'shop', 'db');
  });

  it('resolves an exported ClusterSetIP service to its clusterset IP, with SRV for its named port', async () => {
    const si = await waitFor(async () => {
      const s = await serviceImport(c(1), 'shop', 'cart');
      return s?.spec.ips?.length ? s : undefined;
    }, { what: 'ServiceImport with a clusterset IP in cluster-2', timeoutMs: 60_000 });
    const a = await waitFor(async () => {
      const r = await agentDig(['cart.shop.svc.clusterset.local', 'A']);
      return r.status === 'NOERROR' && r.answers.length > 0 ? r : undefined;
    }, { what: 'A record from the cluster-2 agent' });
    expect(rdata(a)).toEqual([si.spec.ips![0]]);
    expect(rdata(await agentDig(['+tcp', '_http._tcp.cart.shop.svc.clusterset.local', 'SRV']))).toEqual(['0 100 80 cart.shop.svc.clusterset.local.']);
    expect((await agentDig(['cluster-1.cart.shop.svc.clusterset.local', 'A'])).status).toBe('NXDOMAIN');
    expect(rdata(await agentDig(['dns-version.clusterset.local', 'TXT']))).toEqual(['"1.0.0"']);
  });

  it('resolves a headless service to the ready endpoints and per-host names', async () => {
    const a = await waitFor(async () => {
      const r = await agentDig(['db.shop.svc.clusterset.local', 'A']);
      return r.answers.length === 2 ? r : undefined;
    }, { what: 'headless A records in cluster-2', timeoutMs: 60_000 });
    expect(rdata(a)).toEqual(['10.1.1.1', '10.1.1.2']);
    expect(rdata(await agentDig(['db-1.cluster-1.db.shop.svc.clusterset.local', 'A']))).toEqual(['10.1.1.2']);
    expect(rdata(await agentDig(['_http._tcp.db.shop.svc.clusterset.local', 'SRV']))).toEqual([
      '0 100 8080 db-0.cluster-1.db.shop.svc.clusterset.local.', '0 100 8080 db-1.cluster-1.db.shop.svc.clusterset.local.',
    ]);
  });

  it('answers through a CoreDNS whose Corefile forwards clusterset.local to the agent', async () => {
    const { port: agentPort } = fixture.mesh.dnsAddress('cluster-2');
    const [corePort] = (await freePorts(1)) as [number];
    const corefile = patchCorefile(`.:${corePort} {\n    whoami\n}\n`, { upstream: `127.0.0.1:${agentPort}`, port: corePort });
    coredns = startCoredns(resolveBinaries().coredns, corefile, dir);
    const r = await waitFor(async () => {
      const x = await dig('127.0.0.1', corePort, ['cart.shop.svc.clusterset.local', 'A']);
      return x.answers.length > 0 ? x : undefined;
    }, { what: 'cart via CoreDNS' });
    expect(rdata(r)).toEqual(rdata(await agentDig(['cart.shop.svc.clusterset.local', 'A'])));
  });

  it('gives NXDOMAIN once the export is withdrawn', async () => {
    await waitFor(async () => (await agentDig(['cart.shop.svc.clusterset.local', 'A'])).answers.length > 0, { what: 'cart answered before the withdrawal', timeoutMs: 60_000 });
    await unexportService(c(0), 'shop', 'cart');
    await waitFor(async () => (await agentDig(['cart.shop.svc.clusterset.local', 'A'])).status === 'NXDOMAIN', { what: 'NXDOMAIN for cart', timeoutMs: 60_000 });
  });
});
