// `plexus gateway run` as real processes: east serves an exported echo service from PEM
// files and a static export table; west reaches it through a --forward with its identity
// from a joined agent's identity.json, and a rewritten identity.json (rotation) reaches
// the next stream. Bad input ends with one line and a stable code.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';
import { GatewayPki, type IssuedCluster } from '../support/gateway-pki.ts';
import { plexusBin, repoRoot, runPlexus } from '../support/plexus-process.ts';
import { roundTrip, startEcho } from './support/gateway-fixture.ts';

interface Daemon { child: ChildProcess; lines: Record<string, unknown>[]; ready: { gateway: number; forwards: number[]; metrics: string | null } }

function startDaemon(args: string[]): Promise<Daemon> {
  const child = spawn(process.execPath, [plexusBin, 'gateway', 'run', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const v = JSON.parse(line) as Record<string, unknown>;
      if ('gateway' in v && 'forwards' in v) resolve({ child, lines, ready: v as unknown as Daemon['ready'] });
      else lines.push(v);
    });
  });
}

const identityJson = (c: IssuedCluster, clusterset: string) => JSON.stringify({
  clusterId: c.cluster, identity: `spiffe://${clusterset}/cluster/${c.cluster}`, brokerUrl: 'https://broker.invalid:7443',
  certPem: c.certPem, keyPem: c.keyPem, trustBundle: c.trustBundlePem, notAfter: new Date(Date.now() + 3_600_000).toISOString(),
});

describe('plexus gateway run', () => {
  let dir: string;
  let pki: GatewayPki;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const daemons: Daemon[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-gateway-cli-'));
    pki = await GatewayPki.create('acme.example');
    echo = await startEcho();
  });
  afterAll(async () => {
    for (const d of daemons) {
      if (d.child.exitCode === null) {
        d.child.kill('SIGTERM');
        await new Promise((r) => d.child.once('exit', r));
      }
    }
    echo?.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries a stream from a --forward on west to the service east exports, and a rewritten identity.json reaches the next stream', async () => {
    const east = await pki.issue('east');
    for (const [name, text] of [['east.crt', east.certPem], ['east.key', east.keyPem], ['ca.pem', pki.rootPem]] as const) writeFileSync(path.join(dir, name), text, { mode: 0o600 });
    writeFileSync(path.join(dir, 'exports.json'), JSON.stringify({ exports: [{ namespace: 'demo', name: 'echo', ports: [{ port: 80, backends: [`127.0.0.1:${echo.port}`] }] }] }));
    const e = await startDaemon(['--listen', '127.0.0.1:0', '--cert', path.join(dir, 'east.crt'), '--key', path.join(dir, 'east.key'), '--ca', path.join(dir, 'ca.pem'),
      '--exports', path.join(dir, 'exports.json'), '--member', 'west', '--metrics-listen', '127.0.0.1:0', '--log-level', 'debug']);
    daemons.push(e);

    const westDir = path.join(dir, 'west');
    const first = await pki.issue('west');
    mkdirSync(westDir, { mode: 0o700 });
    writeFileSync(path.join(westDir, 'identity.json'), identityJson(first, pki.clusterset), { mode: 0o600 });
    const w = await startDaemon(['--listen', '127.0.0.1:0', '--identity-dir', westDir, '--metrics-listen', 'off', '--reload-interval', '100',
      '--forward', `127.0.0.1:0=east@127.0.0.1:${e.ready.gateway}/echo.demo.svc:80`, '--log-level', 'info']);
    daemons.push(w);
    const fwd = w.ready.forwards[0]!;

    expect((await roundTrip(fwd, Buffer.from('through two processes'))).toString()).toBe('through two processes');
    const admitted = () => e.lines.filter((l) => l.msg === 'gateway stream admitted').map((l) => l.serial);
    await waitFor(() => admitted().at(-1) === first.serial, { what: 'east admitted west\'s first certificate', timeoutMs: 5000, intervalMs: 20 });
    const metrics = await (await fetch(`${e.ready.metrics}/metrics`)).text();
    expect(metrics).toContain('plexus_gateway_streams_total{side="in",peer="west",service="demo/echo"} 1');

    const second = await pki.issue('west');
    writeFileSync(path.join(westDir, 'identity.json'), identityJson(second, pki.clusterset), { mode: 0o600 });
    await waitFor(() => w.lines.some((l) => l.msg?.toString().startsWith('gateway identity rotated')), { what: 'west reloaded its identity', timeoutMs: 10_000, intervalMs: 50 });
    expect((await roundTrip(fwd, Buffer.from('after rotation'))).toString()).toBe('after rotation');
    await waitFor(() => admitted().at(-1) === second.serial, { what: 'east admitted west\'s new certificate', timeoutMs: 5000, intervalMs: 20 });
  });

  it('bad flags and an export table with a UDP port end with one line and a stable code', async () => {
    const noIdentity = await runPlexus(['gateway', 'run', '--listen', '127.0.0.1:0', '--forward', 'nonsense']);
    expect(noIdentity.code).not.toBe(0);
    expect(noIdentity.stderr.trim().split('\n')).toHaveLength(1);
    expect(noIdentity.stderr).toMatch(/^error \[PLX_GATEWAY_BAD_ARGUMENT\]: /);
    // Every problem at once: the missing identity and the malformed forward.
    expect(noIdentity.stderr).toContain('--identity-dir');
    expect(noIdentity.stderr).toContain('--forward "nonsense"');

    writeFileSync(path.join(dir, 'udp.json'), JSON.stringify({ exports: [{ namespace: 'kube-system', name: 'dns', ports: [{ port: 53, protocol: 'UDP', backends: ['10.0.0.10:53'] }] }] }));
    const udp = await runPlexus(['gateway', 'run', '--listen', '127.0.0.1:0', '--metrics-listen', 'off', '--cert', path.join(dir, 'east.crt'), '--key', path.join(dir, 'east.key'), '--ca', path.join(dir, 'ca.pem'), '--exports', path.join(dir, 'udp.json')]);
    expect(udp.code).not.toBe(0);
    expect(udp.stderr.trim()).toMatch(/^error \[PLX_GATEWAY_UDP_UNSUPPORTED\]: .*kube-system\/dns port 53\/UDP/);
  });
});
