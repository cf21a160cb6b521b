// The agent's DNS server over real TCP sockets under abuse (issue 12): slow senders,
// one source opening many connections, a client that never reads. Each test asks a new
// client for an answer while the abuse goes on.
import { once } from 'node:events';
import net from 'node:net';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsServer, type DnsServerOptions } from '../../agent/dns/server.ts';
import { dig, rdata, sampleResolver } from '../e2e/support/dig.ts';
import { waitFor } from '../harness/wait-for.ts';

const host = '127.0.0.1';
let server: DnsServer | undefined;
const sockets: net.Socket[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const t of timers.splice(0)) clearInterval(t);
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
});

async function start(o: Partial<DnsServerOptions>): Promise<number> {
  server = new DnsServer({ resolver: sampleResolver(), logger: pino({ level: 'silent' }), ...o });
  return (await server.listen(host, 0)).port;
}

function frame(name: string, type = 'A', id = 1): Buffer {
  const q = dnsPacket.encode({ type: 'query', id, questions: [{ name, type: type as 'A' }] });
  const f = Buffer.alloc(2 + q.length);
  f.writeUInt16BE(q.length, 0);
  q.copy(f, 2);
  return f;
}

async function connect(port: number, localAddress = host): Promise<net.Socket> {
  const s = net.connect({ port, host, localAddress });
  sockets.push(s);
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

const closed = (s: net.Socket) => s.destroyed || s.readyState === 'closed';

describe('DNS over TCP under abuse', () => {
  it('slow senders trickling a byte at a time cannot hold every TCP slot: they are closed and new clients are answered', async () => {
    const port = await start({ maxTcpConnections: 20, maxTcpConnectionsPerSource: 1000, tcpFrameTimeoutMs: 500, tcpIdleTimeoutMs: 30_000 });
    const slow = await Promise.all(Array.from({ length: 20 }, () => connect(port)));
    const f = frame('cart.shop.svc.clusterset.local');
    let sent = 0;
    // One byte every 100 ms: never idle for the idle timeout, never a whole frame.
    timers.push(setInterval(() => { sent++; for (const s of slow) if (!closed(s)) s.write(f.subarray(sent % 2, (sent % 2) + 1)); }, 100));
    await waitFor(() => server!.tcpStats().connections === 20, { what: '20 slow connections held', timeoutMs: 10_000, intervalMs: 20 });
    // At the cap a new client is still answered over TCP, right away.
    expect(rdata(await dig(host, port, ['+tcp', 'cart.shop.svc.clusterset.local', 'A']))).toEqual(['10.96.0.10']);
    // And the slow senders miss their frame deadline and are closed.
    await waitFor(() => slow.every(closed), { what: 'every slow sender closed', timeoutMs: 10_000, intervalMs: 20 });
    expect(server!.tcpStats().frameTimeouts).toBeGreaterThan(0);
    expect(rdata(await dig(host, port, ['+tcp', 'cart.shop.svc.clusterset.local', 'A']))).toEqual(['10.96.0.10']);
  });

  it('one source address cannot hold more than its share of TCP connections; other sources keep theirs', async () => {
    const port = await start({ maxTcpConnections: 100, maxTcpConnectionsPerSource: 5 });
    const others = await Promise.all(Array.from({ length: 5 }, () => connect(port, '127.0.0.2')));
    const hog: net.Socket[] = [];
    for (let i = 0; i < 12; i++) hog.push(await connect(port, '127.0.0.3'));
    await waitFor(() => hog.filter((s) => !closed(s)).length === 5, { what: 'the hog cut down to 5 connections', timeoutMs: 10_000, intervalMs: 20 });
    expect(server!.tcpStats().connections).toBe(10);
    expect(others.some(closed)).toBe(false);
    // The newest of the hog's connections were kept, and they are served.
    const last = hog.at(-1)!;
    last.write(frame('cart.shop.svc.clusterset.local', 'A', 7));
    const [reply] = (await once(last, 'data')) as [Buffer];
    expect(dnsPacket.decode(reply.subarray(2)).answers?.map((a) => a.data)).toEqual(['10.96.0.10']);
  });

  it('a client that pipelines queries and never reads cannot grow the server\'s buffers without bound', async () => {
    const port = await start({ tcpIdleTimeoutMs: 3000 });
    const greedy = await connect(port);
    greedy.pause();
    // 16,000 queries whose replies are ~2 KB each (120 endpoints): 30+ MB if all were buffered.
    const f = frame('big.db.svc.clusterset.local');
    const all = Buffer.concat(Array.from({ length: 16_000 }, () => f));
    const before = process.memoryUsage().arrayBuffers;
    greedy.write(all);
    await waitFor(() => server!.tcpStats().paused === 1 || greedy.writableLength === 0, { what: 'the server to stop reading (or take every query)', timeoutMs: 10_000, intervalMs: 20 });
    expect(server!.tcpStats().bufferedBytes).toBeLessThan(512 * 1024);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(8 * 1024 * 1024);
    // Others are answered meanwhile.
    expect(rdata(await dig(host, port, ['+tcp', 'cart.shop.svc.clusterset.local', 'A']))).toEqual(['10.96.0.10']);
    expect(server!.tcpStats().bufferedBytes).toBeLessThan(512 * 1024);
    // A client that stays blocked for the idle timeout is closed.
    await waitFor(() => closed(greedy) || server!.tcpStats().connections === 0, { what: 'the blocked client closed', timeoutMs: 15_000, intervalMs: 20 });
  });
});
