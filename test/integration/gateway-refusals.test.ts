// What a receiving gateway refuses, each over real TLS 1.3 with certificates issued by
// certs/: an unexported service, an unexported port, an address instead of a service name,
// a removed cluster, a revoked certificate, another clusterset's certificate (another
// root), a user's certificate, no client certificate, a plain GET. Each refusal has its own
// status and reason, is counted in plexus_gateway_refusals_total and logged with the
// peer's identity; nothing reaches the backend.
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportTable } from '../../gateway/export-table.ts';
import { GatewayPki } from '../support/gateway-pki.ts';
import { ECHO, rawConnect, sender, startEast, type EastGateway, type Sender } from './support/gateway-fixture.ts';

describe('gateway refusals', () => {
  let east: EastGateway;
  const senders: Sender[] = [];
  const newSender = async (cluster: string, o: Parameters<GatewayPki['issue']>[1] = {}) => {
    const s = sender(east, await east.pki.issue(cluster, o));
    senders.push(s);
    return s;
  };
  const refusalsOf = (reason: string, peer: string) => east.metrics.value('plexus_gateway_refusals_total', { side: 'in', reason, peer });
  const refusedLines = (reason: string) => east.lines.filter((l) => l.msg === 'gateway stream refused' && l.reason === reason);
  const openThrough = async (s: Sender, target = ECHO) => s.client.open({ cluster: 'east', host: '127.0.0.1', port: east.port }, target).accepted;

  beforeAll(async () => {
    // The root is a day old, so an already expired certificate can be issued from it.
    east = await startEast({ pki: await GatewayPki.create('acme.example', new Date(Date.now() - 86_400_000)), members: ['west', 'north'] });
  });
  afterAll(async () => {
    for (const s of senders) await s.stop();
    await east?.stop();
  });

  it('an unexported service is refused as not-exported (404), counted and logged with the peer', async () => {
    const west = await newSender('west');
    await expect(openThrough(west, { namespace: 'demo', name: 'secret', port: 80 })).rejects.toMatchObject({ code: 'PLX_GATEWAY_REFUSED', reason: 'not-exported' });
    expect(await refusalsOf('not-exported', 'west')).toBe(1);
    expect(refusedLines('not-exported')[0]).toMatchObject({ peer: 'spiffe://acme.example/cluster/west', target: 'secret.demo.svc:80' });
    expect(await west.metrics.value('plexus_gateway_refusals_total', { side: 'out', peer: 'east', reason: 'not-exported' })).toBe(1);
  });

  it('an exported service on a port it does not export is refused as port-not-exported', async () => {
    const west = await newSender('west');
    await expect(openThrough(west, { ...ECHO, port: 22 })).rejects.toMatchObject({ reason: 'port-not-exported' });
    expect(await refusalsOf('port-not-exported', 'west')).toBe(1);
    expect(refusedLines('port-not-exported')[0]).toMatchObject({ peer: 'spiffe://acme.example/cluster/west', target: 'echo.demo.svc:22' });
  });

  it('an address instead of a service name is refused as bad-target (400): never an open relay, not even to the exported backend', async () => {
    const west = await east.pki.issue('west');
    const backendBefore = east.backendConnections();
    for (const authority of [`127.0.0.1:${east.echoPort}`, `localhost:${east.echoPort}`, 'echo.demo.svc.cluster.local:80']) {
      expect(await rawConnect(east.port, { authority, cert: west.certPem, key: west.keyPem, ca: east.pki.rootPem })).toEqual({ status: 400, reason: 'bad-target' });
    }
    expect(await refusalsOf('bad-target', 'west')).toBe(3);
    expect(east.backendConnections()).toBe(backendBefore);
    expect(refusedLines('bad-target').map((l) => l.target)).toEqual([`127.0.0.1:${east.echoPort}`, `localhost:${east.echoPort}`, 'echo.demo.svc.cluster.local:80']);
  });

  it('a request other than CONNECT is refused as not-connect (405)', async () => {
    const west = await east.pki.issue('west');
    expect(await rawConnect(east.port, { authority: 'echo.demo.svc:80', method: 'GET', cert: west.certPem, key: west.keyPem, ca: east.pki.rootPem })).toEqual({ status: 405, reason: 'not-connect' });
  });

  it('a removed cluster (valid certificate, no longer a member) is refused as not-a-member, also on a connection opened while it was one', async () => {
    const gone = await newSender('gone');
    await expect(openThrough(gone)).rejects.toMatchObject({ reason: 'not-a-member' });
    expect(await refusalsOf('not-a-member', 'gone')).toBe(1);
    expect(refusedLines('not-a-member')[0]).toMatchObject({ peer: 'spiffe://acme.example/cluster/gone' });

    const north = await newSender('north');
    await openThrough(north);
    east.members.delete('north');
    await expect(openThrough(north)).rejects.toMatchObject({ reason: 'not-a-member' });
    expect(await refusalsOf('not-a-member', 'north')).toBe(1);
    east.members.add('north');
  });

  it('a revoked certificate of a member is refused as revoked, by serial, even on its open connection', async () => {
    const west = await east.pki.issue('west');
    const s = sender(east, west);
    senders.push(s);
    await openThrough(s);
    east.revoked.add(west.serial);
    await expect(openThrough(s)).rejects.toMatchObject({ reason: 'revoked' });
    expect(refusedLines('revoked')[0]).toMatchObject({ peer: 'spiffe://acme.example/cluster/west', serial: west.serial });
    expect(await refusalsOf('revoked', 'west')).toBe(1);
  });

  it('another clusterset\'s certificate (same name, another root) is refused as untrusted and logged with the identity it claims', async () => {
    const otherRoot = await GatewayPki.create('acme.example');
    const impostor = await otherRoot.issue('west', { trustBundlePem: east.pki.rootPem });
    const s = sender(east, impostor);
    senders.push(s);
    await expect(openThrough(s)).rejects.toMatchObject({ reason: 'untrusted' });
    expect(await refusalsOf('untrusted', 'unverified')).toBe(1);
    expect(refusedLines('untrusted')[0]).toMatchObject({ peer: 'spiffe://acme.example/cluster/west' });
  });

  it('a certificate of this root in another trust domain is refused as other-clusterset; a user\'s as not-a-cluster', async () => {
    const foreign = await newSender('west', { trustDomain: 'acme.evil' });
    await expect(openThrough(foreign)).rejects.toMatchObject({ reason: 'other-clusterset' });
    expect(refusedLines('other-clusterset')[0]).toMatchObject({ peer: 'spiffe://acme.evil/cluster/west' });
    const user = await east.pki.issue('alice', { kind: 'user' });
    expect(await rawConnect(east.port, { authority: 'echo.demo.svc:80', cert: user.certPem, key: user.keyPem, ca: east.pki.rootPem })).toEqual({ status: 403, reason: 'not-a-cluster' });
    expect(refusedLines('not-a-cluster')[0]).toMatchObject({ peer: 'spiffe://acme.example/user/alice' });
    expect(await refusalsOf('other-clusterset', 'unverified') + await refusalsOf('not-a-cluster', 'unverified')).toBe(2);
  });

  it('no client certificate is refused as no-client-cert (401)', async () => {
    expect(await rawConnect(east.port, { authority: 'echo.demo.svc:80', ca: east.pki.rootPem })).toEqual({ status: 401, reason: 'no-client-cert' });
    expect(await refusalsOf('no-client-cert', 'unverified')).toBe(1);
    expect(refusedLines('no-client-cert')[0]).toMatchObject({ peer: '(no certificate)' });
  });

  it('an exported service whose backends refuse connections is answered backend-unreachable (502); a new export table applies to the next stream', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    east.server.setExports(ExportTable.from([
      { namespace: 'demo', name: 'echo', ports: [{ port: 80, backends: [`127.0.0.1:${east.echoPort}`] }] },
      { namespace: 'demo', name: 'dead', ports: [{ port: 80, backends: [`127.0.0.1:${deadPort}`] }] },
    ]));
    const west = await newSender('west');
    await expect(openThrough(west, { namespace: 'demo', name: 'dead', port: 80 })).rejects.toMatchObject({ reason: 'backend-unreachable' });
    expect(await refusalsOf('backend-unreachable', 'west')).toBe(1);
    expect(refusedLines('backend-unreachable')[0]).toMatchObject({ peer: 'spiffe://acme.example/cluster/west', service: 'demo/dead' });
  });

  it('an expired certificate is refused as expired', async () => {
    const old = await east.pki.issue('west', { now: new Date(Date.now() - 7_200_000), lifetimeSeconds: 3600 });
    expect(await rawConnect(east.port, { authority: 'echo.demo.svc:80', cert: old.certPem, key: old.keyPem, ca: east.pki.rootPem })).toEqual({ status: 403, reason: 'expired' });
  });
});
