// Hot reload of the cluster identity in the agent's TLS clients, over real sockets and TLS
// 1.3: a request in flight when the identity changes finishes on its connection (never
// destroyed), and the next request presents the new client certificate. Covers the undici
// dispatcher (broker client, catalog watch, proxy broker calls) and the probe client.
import '../../certs/setup.ts';
import { once } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RotatingDispatcher } from '../../agent/broker-client/rotating-dispatcher.ts';
import { httpsProbe } from '../../agent/topology/probe-client.ts';
import { createRootCa, type CertificateAuthority } from '../../certs/ca.ts';
import { issueCertificate } from '../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../certs/keys.ts';
import { waitFor } from '../harness/wait-for.ts';

const clusterset = 'reload.plexus.local';

async function clusterCert(ca: CertificateAuthority, name: string) {
  const keys = await generateKeyPair();
  const issued = await issueCertificate({
    ca, publicKey: keys.publicKey, commonName: name, identity: { trustDomain: clusterset, kind: 'cluster', name },
    usages: ['clientAuth', 'serverAuth'], ipAddresses: ['127.0.0.1'], lifetimeSeconds: 3600, now: new Date(),
  });
  return { certPem: issued.certPem, keyPem: await exportPrivateKeyPem(keys.privateKey), serial: issued.serial, trustBundle: ca.certPem };
}

type Tls = Awaited<ReturnType<typeof clusterCert>>;

describe('TLS hot reload of the cluster identity', () => {
  let ca: CertificateAuthority;
  let server: https.Server;
  let url: string;
  let before: Tls;
  let after: Tls;
  /** Client certificate serial of every request, in arrival order. */
  const seen: { path: string; serial: string }[] = [];
  const held: ServerResponse[] = [];

  beforeAll(async () => {
    ({ ca } = await createRootCa({ clusterset, now: new Date(Date.now() - 120_000) }));
    before = await clusterCert(ca, 'east');
    after = await clusterCert(ca, 'east');
  });

  async function serve(): Promise<void> {
    const own = await clusterCert(ca, 'west');
    server = https.createServer({ key: own.keyPem, cert: own.certPem, ca: ca.certPem, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ path: req.url ?? '', serial: (req.socket as TLSSocket).getPeerCertificate().serialNumber.toLowerCase() });
      if (req.url === '/slow') held.push(res);
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('fast');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  afterEach(async () => {
    for (const res of held.splice(0)) res.destroy();
    seen.length = 0;
    server.closeAllConnections();
    server.close();
  });

  it('undici: the request in flight finishes on the old identity, the next one uses the new one', async () => {
    await serve();
    const d = new RotatingDispatcher(before);
    const slow = request(`${url}/slow`, { dispatcher: d.current });
    await waitFor(async () => (held.length === 1 ? true : undefined), { what: 'the slow request at the server', timeoutMs: 10_000 });
    d.use(after);
    expect(d.retiring).toBe(1);
    const fast = await request(`${url}/fast`, { dispatcher: d.current });
    expect(await fast.body.text()).toBe('fast');
    // The slow response starts after the swap and streams to its end.
    held[0]!.writeHead(200).write('part one, ');
    held[0]!.end('part two');
    const res = await slow;
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('part one, part two');
    expect(seen).toEqual([{ path: '/slow', serial: before.serial }, { path: '/fast', serial: after.serial }]);
    await waitFor(async () => (d.retiring === 0 ? true : undefined), { what: 'the old agent closed', timeoutMs: 10_000 });
    await d.close();
  });

  it('probe client: a probe in flight completes, the next probe presents the new certificate', async () => {
    await serve();
    const probe = httpsProbe({ clusterset, certPem: before.certPem, keyPem: before.keyPem, trustBundlePem: ca.certPem });
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ path: req.url ?? '', serial: (req.socket as TLSSocket).getPeerCertificate().serialNumber.toLowerCase() });
      if (seen.length === 1) held.push(res);
      else res.writeHead(200).end('{}');
    });
    const target = { cluster: 'west', url };
    const first = probe.probe(target, new AbortController().signal);
    await waitFor(async () => (held.length === 1 ? true : undefined), { what: 'the first probe at the server', timeoutMs: 10_000 });
    probe.useIdentity(after);
    held[0]!.writeHead(200).end('{}');
    await first;
    await probe.probe(target, new AbortController().signal);
    expect(seen.map((s) => s.serial)).toEqual([before.serial, after.serial]);
    probe.close();
  });
});
