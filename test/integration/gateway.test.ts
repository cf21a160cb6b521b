// Two real gateways on loopback, real TLS 1.3 with cluster certificates issued by certs/
// from one root: bytes go end to end through the pair, many streams share one
// connection, a sender's certificate rotation reaches new streams while an open stream
// keeps flowing, and a CA rollover reaches open connections at their next stream.
// Refusals are in gateway-refusals.test.ts.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tcpConnect, createServer, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';
import { pino } from 'pino';
import { GatewayClient } from '../../gateway/client.ts';
import { ExportTable } from '../../gateway/export-table.ts';
import { GatewayMetrics } from '../../gateway/metrics.ts';
import { GatewayServer } from '../../gateway/server.ts';
import { GatewayPki } from '../support/gateway-pki.ts';
import { ECHO, roundTrip, sender, startEast, type EastGateway, type Sender } from './support/gateway-fixture.ts';

describe('gateway pair on loopback', () => {
  let east: EastGateway;
  const senders: Sender[] = [];
  const newSender = async (cluster = 'west', o: { sessionsPerPeer?: number } = {}) => {
    const s = sender(east, await east.pki.issue(cluster), o);
    senders.push(s);
    return s;
  };

  beforeAll(async () => {
    east = await startEast({ members: ['west', 'south'] });
  });
  afterAll(async () => {
    for (const s of senders) await s.stop();
    await east?.stop();
  });

  it('carries bytes end to end both ways (1 MiB echoed, half-close kept) and counts them per peer and service on both sides', async () => {
    const west = await newSender();
    const fwd = await west.forward();
    const payload = randomBytes(1024 * 1024);
    const back = await roundTrip(fwd.port, payload);
    expect(back.equals(payload)).toBe(true);
    const labels = { side: 'in', peer: 'west', service: 'demo/echo' };
    await waitFor(async () => (await east.metrics.value('plexus_gateway_bytes_total', { ...labels, direction: 'received' })) === payload.length, { what: 'bytes counted at east', timeoutMs: 5000, intervalMs: 20 });
    expect(await east.metrics.value('plexus_gateway_bytes_total', { ...labels, direction: 'sent' })).toBe(payload.length);
    expect(await east.metrics.value('plexus_gateway_streams_total', labels)).toBe(1);
    await waitFor(async () => (await west.metrics.value('plexus_gateway_bytes_total', { side: 'out', peer: 'east', service: 'demo/echo', direction: 'sent' })) === payload.length, { what: 'bytes counted at west', timeoutMs: 5000, intervalMs: 20 });
    expect(await west.metrics.value('plexus_gateway_streams_total', { side: 'out', peer: 'east', service: 'demo/echo' })).toBe(1);
  });

  it('32 concurrent streams share one TLS connection (one session per peer)', async () => {
    const south = await newSender('south', { sessionsPerPeer: 1 });
    const fwd = await south.forward();
    const before = await east.metrics.value('plexus_gateway_connections_total', { side: 'in' });
    const payloads = Array.from({ length: 32 }, () => randomBytes(64 * 1024));
    const backs = await Promise.all(payloads.map((p) => roundTrip(fwd.port, p)));
    backs.forEach((b, i) => expect(b.equals(payloads[i]!)).toBe(true));
    expect(await east.metrics.value('plexus_gateway_connections_total', { side: 'in' })).toBe(before + 1);
    expect(await south.metrics.value('plexus_gateway_connections_total', { side: 'out' })).toBe(1);
    expect(await east.metrics.value('plexus_gateway_streams_total', { side: 'in', peer: 'south', service: 'demo/echo' })).toBe(32);
  });

  it('rotation: after the sender swaps its certificate a new stream presents the new one, while a stream opened before keeps flowing', async () => {
    const first = await east.pki.issue('west');
    const second = await east.pki.issue('west');
    const west = sender(east, first);
    senders.push(west);
    const fwd = await west.forward();
    const admittedSerials = () => east.lines.filter((l) => l.msg === 'gateway stream admitted').map((l) => l.serial);

    // Stream 1, opened with the first certificate, stays open across the rotation.
    const open = tcpConnect({ port: fwd.port, host: '127.0.0.1', allowHalfOpen: true });
    open.write('before ');
    await once(open, 'data');
    expect(admittedSerials().at(-1)).toBe(first.serial);

    west.client.useIdentity(second);
    const back = await roundTrip(fwd.port, Buffer.from('new stream'));
    expect(back.toString()).toBe('new stream');
    expect(admittedSerials().at(-1)).toBe(second.serial);

    // The old stream still carries data both ways, then ends cleanly.
    const received: Buffer[] = [];
    open.on('data', (c: Buffer) => received.push(c));
    open.end('after rotation');
    await once(open, 'close');
    expect(Buffer.concat(received).toString()).toBe('after rotation');
    // Its retired session closed once its last stream ended; only the new one remains.
    await waitFor(() => west.client.sessionCount === 1, { what: 'the retired session closed', timeoutMs: 5000, intervalMs: 20 });
  });

  it('rotation at the receiver: new connections get the new certificate, streams keep being served', async () => {
    const next = await east.pki.issue('east');
    east.server.useIdentity(next);
    const socket = tlsConnect({ host: '127.0.0.1', port: east.port, ca: east.pki.rootPem, servername: '', checkServerIdentity: () => undefined, ALPNProtocols: ['h2'], minVersion: 'TLSv1.3' });
    await once(socket, 'secureConnect');
    expect(socket.getPeerX509Certificate()?.serialNumber.toLowerCase()).toBe(next.serial);
    socket.destroy();
    const west = await newSender();
    expect((await roundTrip((await west.forward()).port, Buffer.from('still served'))).toString()).toBe('still served');
  });

  it('CA rollover: a sender re-issued from the new root reaches a receiver that trusts both; once the receiver drops the old root, a connection opened under it is refused at its next stream', async () => {
    const next = await GatewayPki.create(east.pki.clusterset);
    const both = east.pki.rootPem + next.rootPem;
    east.server.useIdentity({ ...(await next.issue('east')), trustBundlePem: both });
    const old = sender(east, { ...(await east.pki.issue('west')), trustBundlePem: both });
    senders.push(old);
    await old.client.open({ cluster: 'east', host: '127.0.0.1', port: east.port }, ECHO).accepted;
    const renewed = sender(east, await next.issue('west', { trustBundlePem: both }));
    senders.push(renewed);
    expect((await roundTrip((await renewed.forward()).port, Buffer.from('new root'))).toString()).toBe('new root');

    east.server.useIdentity(await next.issue('east'));
    await expect(old.client.open({ cluster: 'east', host: '127.0.0.1', port: east.port }, ECHO).accepted).rejects.toMatchObject({ reason: 'untrusted' });
    expect(await east.metrics.value('plexus_gateway_refusals_total', { side: 'in', reason: 'untrusted', peer: 'west' })).toBe(1);
    expect((await roundTrip((await renewed.forward()).port, Buffer.from('still fine'))).toString()).toBe('still fine');
    // Back to the first root for the tests after this one.
    east.server.useIdentity(await east.pki.issue('east'));
  });

  it('a client offering at most TLS 1.2 fails the handshake and is counted as a handshake failure', async () => {
    const before = await east.metrics.value('plexus_gateway_handshake_failures_total', { side: 'in' });
    const s = tlsConnect({ host: '127.0.0.1', port: east.port, ca: east.pki.rootPem, servername: '', checkServerIdentity: () => undefined, maxVersion: 'TLSv1.2', ALPNProtocols: ['h2'] });
    await once(s, 'error');
    await waitFor(async () => (await east.metrics.value('plexus_gateway_handshake_failures_total', { side: 'in' })) === before + 1, { what: 'handshake failure counted', timeoutMs: 5000, intervalMs: 20 });
  });

  it('the sender refuses a peer gateway that is not the cluster it stands for (exact SPIFFE identity) as PLX_GATEWAY_PEER_IDENTITY, counted as a handshake failure (it was reported as PLX_GATEWAY_UNREACHABLE: the session error reached the stream only as its cause)', async () => {
    const west = await newSender();
    const opened = west.client.open({ cluster: 'north', host: '127.0.0.1', port: east.port }, ECHO);
    await expect(opened.accepted).rejects.toMatchObject({ code: 'PLX_GATEWAY_PEER_IDENTITY' });
    expect(await west.metrics.value('plexus_gateway_handshake_failures_total', { side: 'out', reason: 'peer-identity' })).toBe(1);
  });
  it('a peer address that accepts TCP and never answers fails the stream with PLX_GATEWAY_UNREACHABLE after openTimeoutMs, counted as a handshake failure (timeout)', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const metrics = new GatewayMetrics();
    const client = new GatewayClient({ clusterset: east.pki.clusterset, tls: await east.pki.issue('west'), metrics, logger: pino({ level: 'silent' }), openTimeoutMs: 300 });
    try {
      const opened = client.open({ cluster: 'east', host: '127.0.0.1', port: (silent.address() as AddressInfo).port }, ECHO);
      await expect(opened.accepted).rejects.toMatchObject({ code: 'PLX_GATEWAY_UNREACHABLE' });
      await waitFor(async () => (await metrics.value('plexus_gateway_handshake_failures_total', { side: 'out', reason: 'timeout' })) === 1, { what: 'the timeout counted', timeoutMs: 5000, intervalMs: 20 });
      await waitFor(() => client.sessionCount === 0, { what: 'the silent session given up', timeoutMs: 5000, intervalMs: 20 });
    } finally {
      client.close();
      silent.close();
    }
  });

  // Last in this file: it closes east's server for good.
  it('a lost session is replaced: after the receiving gateway restarts on its port, the next stream reconnects', async () => {
    const west = await newSender('west', { sessionsPerPeer: 1 });
    const fwd = await west.forward();
    expect((await roundTrip(fwd.port, Buffer.from('before'))).toString()).toBe('before');
    const port = east.port;
    await east.server.close();
    await waitFor(() => west.client.sessionCount === 0, { what: 'the sender noticed the lost session', timeoutMs: 5000, intervalMs: 20 });
    const restarted = new GatewayServer({
      host: '127.0.0.1', port, clusterset: east.pki.clusterset, tls: await east.pki.issue('east'), metrics: new GatewayMetrics(), logger: pino({ level: 'silent' }),
      exports: ExportTable.from([{ namespace: 'demo', name: 'echo', ports: [{ port: 80, backends: [`127.0.0.1:${east.echoPort}`] }] }]),
      membership: { isMember: (c) => c === 'west', isRevoked: () => false },
    });
    await restarted.start();
    try {
      expect((await roundTrip(fwd.port, Buffer.from('after restart'))).toString()).toBe('after restart');
      expect(await west.metrics.value('plexus_gateway_connections_total', { side: 'out' })).toBe(2);
    } finally {
      await restarted.close();
    }
  });
});
