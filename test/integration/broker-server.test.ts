// The broker's transport and lifecycle: TLS 1.3 only, health and readiness, the public
// trust bundle, broker.json, and a graceful stop that finishes in-flight requests.
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paths, trustBundleResponseSchema } from '../../broker/api/types.ts';
import { SqliteStore } from '../../broker/store/sqlite-store.ts';
import { fingerprintSha256 } from '../../certs/pem.ts';
import { clusterCsr, clusterKeys, createToken, errorCode, joinCluster, startTestBroker, type TestBroker } from './support/broker-fixture.ts';

function tlsConnect(b: TestBroker, o: { maxVersion?: 'TLSv1.2' | 'TLSv1.3' } = {}): Promise<TLSSocket> {
  const url = new URL(b.url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: url.hostname, port: Number(url.port), ca: b.caPem, ...o });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('broker server', () => {
  let b: TestBroker;
  beforeEach(async () => {
    b = await startTestBroker();
  });
  afterEach(async () => {
    await b.stop();
  });

  it('speaks TLS 1.3 with a serving certificate for 127.0.0.1 under the root', async () => {
    const s = await tlsConnect(b);
    expect(s.getProtocol()).toBe('TLSv1.3');
    expect(s.authorized).toBe(true);
    s.destroy();
  });

  it('refuses a client that offers at most TLS 1.2', async () => {
    await expect(tlsConnect(b, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
  });

  it('answers health, readiness and the public trust bundle', async () => {
    expect(await b.call(paths.healthz)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await b.call(paths.readyz)).toEqual({ status: 200, body: { status: 'ready' } });
    const bundle = trustBundleResponseSchema.parse((await b.call(paths.trustBundle)).body);
    expect(bundle.clusterset).toBe(b.clusterset);
    expect(bundle.trustBundle).toBe(b.caPem);
    expect(bundle.fingerprints).toEqual([fingerprintSha256(b.caPem)]);
    const unknown = await b.call('/v1/nope');
    expect([unknown.status, errorCode(unknown)]).toEqual([404, 'PLX_BROKER_NOT_FOUND']);
  });

  it('records its URL in broker.json and removes it on stop', async () => {
    const info = JSON.parse(readFileSync(b.layout.brokerJson, 'utf8')) as { url: string; pid: number };
    expect(info).toMatchObject({ url: b.url, pid: process.pid });
    await b.broker.stop();
    expect(existsSync(b.layout.brokerJson)).toBe(false);
  });

  it('finishes an in-flight join on stop, then closes the store', async () => {
    const { token } = await createToken(b, 'inflight-1');
    const body = JSON.stringify({ token, csr: await clusterCsr(await clusterKeys(), b.clusterset, 'inflight-1') });
    const seen = once(b.broker.app.server, 'request');
    const s = await tlsConnect(b);
    s.write(`POST ${paths.join} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 20)}`);
    await seen;
    const stopping = b.broker.stop();
    s.write(body.slice(20));
    let response = '';
    s.on('data', (d: Buffer) => { response += d.toString(); });
    await once(s, 'end');
    await stopping;
    expect(response).toMatch(/^HTTP\/1\.1 201 /);
    const reopened = SqliteStore.open(b.layout.store);
    expect(await reopened.getCluster('inflight-1')).toMatchObject({ state: 'active' });
    await reopened.close();
    await expect(tlsConnect(b)).rejects.toThrow();
  });

});

describe('broker logs', () => {
  it('carry request ids but never tokens, CSRs or keys', async () => {
    let logs = '';
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs += chunk.toString(); done(); } });
    const b = await startTestBroker({ logger: pino({ level: 'trace' }, sink) });
    const secrets: string[] = [];
    try {
      const { token } = await createToken(b, 'east-1');
      secrets.push(token.split('.')[2]!);
      const csr = await clusterCsr(await clusterKeys(), b.clusterset, 'east-1');
      await b.call(paths.join, { body: { token, csr: 'garbage' } });
      await b.call(paths.join, { body: { token, csr } });
      await b.call(paths.join, { body: { token, csr } });
      const west = await joinCluster(b, 'west-1');
      await b.call(paths.renew, { body: { csr: await clusterCsr(west.keys, b.clusterset, 'west-1') }, identity: west.identity });
    } finally {
      await b.stop();
    }
    expect(logs).toContain('"reqId"');
    expect(logs).toContain('"component":"http"');
    expect(logs).toContain('cluster joined');
    for (const secret of secrets) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/plx1\.[a-z0-9]{8}\./);
    expect(logs).not.toContain('CERTIFICATE REQUEST');
    expect(logs).not.toContain('PRIVATE KEY');
  });
});
