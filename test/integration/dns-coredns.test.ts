// CoreDNS hands clusterset.local to the agent: a real CoreDNS (from the control-plane
// cache) runs a Corefile patched by the same transform `plexus agent dns patch-coredns`
// uses, and `dig` against CoreDNS resolves the agent's records while the rest of the
// Corefile keeps answering as before.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patchCorefile } from '../../agent/dns/corefile.ts';
import { DnsServer } from '../../agent/dns/server.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { freePorts } from '../harness/free-ports.ts';
import { waitFor } from '../harness/wait-for.ts';
import { dig, rdata, sampleResolver, startCoredns } from '../e2e/support/dig.ts';

describe('CoreDNS stub domain → agent DNS server', () => {
  let agent: DnsServer;
  let coredns: ReturnType<typeof startCoredns> | undefined;
  let corePort: number;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-coredns-'));

  beforeAll(async () => {
    agent = new DnsServer({ resolver: sampleResolver(), logger: pino({ level: 'silent' }) });
    const agentPort = (await agent.listen('127.0.0.1', 0)).port;
    [corePort] = (await freePorts(1)) as [number];
    const base = `.:${corePort} {\n    errors\n    whoami\n}\n`;
    const corefile = patchCorefile(base, { upstream: `127.0.0.1:${agentPort}`, port: corePort });
    coredns = startCoredns(resolveBinaries().coredns, corefile, dir);
    await waitFor(async () => ((await dig('127.0.0.1', corePort, ['dns-version.clusterset.local', 'TXT'])).status === 'NOERROR' ? true : undefined), {
      what: 'CoreDNS serving clusterset.local', timeoutMs: 20_000,
    });
  });
  afterAll(async () => {
    await coredns?.stop();
    await agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves A, SRV and headless names through CoreDNS, over UDP and TCP', async () => {
    for (const mode of ['+notcp', '+tcp']) {
      expect(rdata(await dig('127.0.0.1', corePort, [mode, 'cart.shop.svc.clusterset.local', 'A']))).toEqual(['10.96.0.10']);
      expect(rdata(await dig('127.0.0.1', corePort, [mode, '_http._tcp.cart.shop.svc.clusterset.local', 'SRV']))).toEqual(['0 100 80 cart.shop.svc.clusterset.local.']);
      expect(rdata(await dig('127.0.0.1', corePort, [mode, 'pg.db.svc.clusterset.local', 'A']))).toEqual(['10.1.0.1', '10.2.0.1', '10.2.0.2']);
    }
  });

  it('passes NXDOMAIN through and a large headless answer survives CoreDNS (TCP to the agent)', async () => {
    expect((await dig('127.0.0.1', corePort, ['nope.shop.svc.clusterset.local'])).status).toBe('NXDOMAIN');
    const big = await dig('127.0.0.1', corePort, ['+tcp', 'big.db.svc.clusterset.local', 'A']);
    expect(big.answers.length).toBe(120);
  });

  it('leaves the rest of the Corefile answering as before', async () => {
    const r = await dig('127.0.0.1', corePort, ['example.org', 'A']);
    expect(r.status).toBe('NOERROR');
    expect(r.raw).toContain('_udp.example.org');
  });
});
