// The harness's real etcd cluster (test/harness/etcd-cluster.ts) and its cut proxy.
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CutProxy } from '../harness/cut-proxy.ts';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.ts';
import { waitFor } from '../harness/wait-for.ts';

function handshake(port: number, o: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...o }, () => {
      // TLS 1.3 sends the server's verdict on the client certificate after the handshake.
      s.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    let out = '';
    s.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('\r\n\r\n')) { const proto = s.getProtocol(); s.destroy(); resolve(`${proto} ${out.split('\r\n')[0]}`); } });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before an answer')));
  });
}

describe('etcd cluster harness', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => { cluster = await startEtcdCluster(); });
  afterAll(async () => { await cluster?.stop(); });

  it('starts 3 members that agree on a leader, TLS 1.3 only, client certificate required, private keys 0600', async () => {
    expect(cluster.endpoints).toHaveLength(3);
    expect(await cluster.leader()).toBeGreaterThanOrEqual(0);
    const port = cluster.member(0).clientPort;
    const ok = await handshake(port, { ca: cluster.tls.caPem, cert: cluster.tls.certPem, key: cluster.tls.keyPem });
    expect(ok).toBe('TLSv1.3 HTTP/1.1 200 OK');
    await expect(handshake(port, { ca: cluster.tls.caPem, cert: cluster.tls.certPem, key: cluster.tls.keyPem, maxVersion: 'TLSv1.2' })).rejects.toThrow();
    await expect(handshake(port, { ca: cluster.tls.caPem })).rejects.toThrow();
    expect(statSync(cluster.tls.files.key).mode & 0o777).toBe(0o600);
  });

  it('kill(leader) SIGKILLs it, the other two elect a new leader, restart(member) brings it back on its port', async () => {
    const old = await cluster.leader();
    await cluster.kill(old);
    expect(cluster.member(old).component.running).toBe(false);
    const next = await cluster.leader();
    expect(next).not.toBe(old);
    await cluster.restart(old);
    const statuses = await Promise.all([0, 1, 2].map((i) => cluster.status(i)));
    expect(new Set(statuses.map((s) => s.leader)).size).toBe(1);
  });
});

describe('etcd cluster teardown', () => {
  it('stop() leaves no member process and removes the temp dir', async () => {
    const c = await startEtcdCluster({ members: 1 });
    const pids = c.members.map((m) => m.component.pid());
    await c.stop();
    expect(existsSync(c.dir)).toBe(false);
    for (const pid of pids) expect(() => process.kill(pid!, 0)).toThrow();
  });
});

describe('cut proxy', () => {
  let echo: net.Server;
  let proxy: CutProxy;
  beforeAll(async () => {
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    proxy = await CutProxy.start({ host: '127.0.0.1', port: (echo.address() as net.AddressInfo).port });
  });
  afterAll(async () => {
    await proxy?.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  function roundTrip(): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = net.connect(proxy.port, '127.0.0.1', () => s.write('ping'));
      s.on('data', (d) => { s.destroy(); resolve(d.toString()); });
      s.on('error', (e: NodeJS.ErrnoException) => reject(e));
      s.setTimeout(500, () => { s.destroy(); reject(new Error('timeout')); });
    });
  }

  it("cut('refuse') resets open and new connections; heal() forwards again on the same port", async () => {
    expect(await roundTrip()).toBe('ping');
    const open = net.connect(proxy.port, '127.0.0.1');
    const openErr = new Promise<string>((r) => { open.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? '')); open.on('close', () => r('closed')); });
    await waitFor(() => open.readyState === 'open', { what: 'the connection to open' });
    proxy.cut('refuse');
    expect(await openErr).toMatch(/ECONNRESET|closed/);
    await expect(roundTrip()).rejects.toMatchObject({ code: 'ECONNRESET' });
    proxy.heal();
    expect(await roundTrip()).toBe('ping');
  });

  it("cut('blackhole') accepts but never answers", async () => {
    proxy.cut('blackhole');
    await expect(roundTrip()).rejects.toThrow('timeout');
    proxy.heal();
    expect(await roundTrip()).toBe('ping');
  });
});
