// broker/etcd against a real 3-member etcd 3.6 cluster (TLS 1.3, client certificates):
// compare-and-swap races, watches that outlive their member, leader loss, compaction,
// lease expiry, and a client cut off from etcd.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../broker/etcd/etcd-client.ts';
import { EtcdLease } from '../../broker/etcd/etcd-lease.ts';
import type { WatchEvent } from '../../broker/etcd/etcd-watch.ts';
import { BrokerError } from '../../broker/errors.ts';
import { CutProxy } from '../harness/cut-proxy.ts';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.ts';
import { waitFor } from '../harness/wait-for.ts';

let cluster: EtcdCluster;
const clients: EtcdClient[] = [];
const proxies: CutProxy[] = [];

function client(endpoints: readonly string[] = cluster.endpoints, requestTimeoutMs = 3000): EtcdClient {
  const c = EtcdClient.create({
    endpoints, tls: { ca: cluster.tls.caPem, cert: cluster.tls.certPem, key: cluster.tls.keyPem },
    dialTimeoutMs: 1000, requestTimeoutMs,
  });
  clients.push(c);
  return c;
}

/** The members' endpoints with member i first: a client talks to the first that answers. */
function startingAt(i: number): string[] {
  return [cluster.endpoints[i]!, ...cluster.endpoints.filter((_, j) => j !== i)];
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BrokerError) return err.code;
    throw err;
  }
  throw new Error('expected a BrokerError, got success');
}

beforeAll(async () => {
  cluster = await startEtcdCluster({ members: 3, extraArgs: ['--watch-progress-notify-interval=500ms'] });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(proxies.map((p) => p.close()));
  await cluster?.stop();
});
afterEach(async () => {
  // A test that killed a member brings it back, so each test starts with three.
  for (const [i, m] of cluster.members.entries()) if (!m.component.running) await cluster.restart(i);
});

describe('etcd client: keys and transactions', () => {
  it('compare-and-swap raced by two clients on different members: exactly one wins, every round', async () => {
    const a = client(startingAt(0));
    const b = client(startingAt(1));
    for (let round = 0; round < 20; round++) {
      const key = `cas/${round}`;
      const { revision } = await a.put(key, 'start');
      const swap = (c: EtcdClient, v: string) => c.txn({ compare: [{ key, target: 'mod', value: revision }], success: [{ put: { key, value: v } }] });
      const [ra, rb] = await Promise.all([swap(a, 'a'), swap(b, 'b')]);
      expect([ra.succeeded, rb.succeeded].filter(Boolean)).toHaveLength(1);
      const { kv } = await b.get(key);
      expect(kv?.value.toString()).toBe(ra.succeeded ? 'a' : 'b');
      expect(kv?.modRevision).toBe(ra.succeeded ? ra.revision : rb.revision);
    }
  });

  it('txn compares version, create_revision and value; the failure branch reads', async () => {
    const c = client();
    const { revision } = await c.put('cmp/k', 'v1');
    const ok = await c.txn({
      compare: [{ key: 'cmp/k', target: 'version', value: 1 }, { key: 'cmp/k', target: 'create', value: revision }, { key: 'cmp/k', target: 'value', value: 'v1' }],
      success: [{ put: { key: 'cmp/k', value: 'v2' } }, { delete: { key: 'cmp/gone' } }],
    });
    expect(ok.succeeded).toBe(true);
    const no = await c.txn({ compare: [{ key: 'cmp/k', target: 'value', value: 'v1' }], success: [], failure: [{ get: { key: 'cmp/k' } }] });
    expect(no.succeeded).toBe(false);
    expect(no.gets[0]?.[0]?.value.toString()).toBe('v2');
    expect(no.gets[0]?.[0]?.version).toBe(2);
  });

  it('a paged prefix range reads one snapshot: keys written between pages are not in it', async () => {
    const c = client();
    for (let i = 0; i < 25; i++) await c.put(`page/${String(i).padStart(2, '0')}`, `v${i}`);
    await c.put('pagex', 'outside the prefix');
    const seen: string[] = [];
    let pages = 0;
    for await (const page of c.rangePages('page/', { pageSize: 10 })) {
      if (pages++ === 0) await c.put('page/99', 'written after the first page');
      seen.push(...page.kvs.map((kv) => kv.key));
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `page/${String(i).padStart(2, '0')}`));
    expect((await c.range('page/')).kvs).toHaveLength(26);
  });
});

describe('etcd client: watches', () => {
  it('a watch resumes from its revision on another member after the member it was on is SIGKILLed: every event once, in order', async () => {
    const leader = await cluster.leader();
    const victim = [0, 1, 2].find((i) => i !== leader)!;
    const watcher = client(startingAt(victim));
    const writer = client(startingAt(leader));
    const { revision } = await writer.put('w/start', 'x');
    const events: WatchEvent[] = [];
    const disconnects: string[] = [];
    const watch = watcher.watch({
      key: 'w/k/', prefix: true, fromRevision: revision + 1,
      onEvents: (evs) => { events.push(...evs); },
      onDisconnect: (err) => disconnects.push(err.code),
      onError: (err) => { throw err; },
    });
    for (let i = 0; i < 50; i++) await writer.put(`w/k/${i}`, `v${i}`);
    await waitFor(() => events.length >= 20, { what: 'the first events' });
    expect(watcher.transport.currentEndpoint).toBe(cluster.endpoints[victim]);
    await cluster.kill(victim);
    for (let i = 50; i < 100; i++) await writer.put(`w/k/${i}`, `v${i}`);
    await writer.delete('w/k/0');
    await waitFor(() => events.length >= 101, { what: '100 puts and a delete through the watch', timeoutMs: 20_000 });
    watch.close();
    expect(disconnects.length).toBeGreaterThan(0);
    expect(events.slice(0, 100).map((e) => e.kv.key)).toEqual(Array.from({ length: 100 }, (_, i) => `w/k/${i}`));
    expect(events[100]).toMatchObject({ type: 'delete', kv: { key: 'w/k/0' } });
    expect(events).toHaveLength(101);
    const revs = events.map((e) => e.kv.modRevision);
    expect(revs.every((r, i) => i === 0 || r > revs[i - 1]!)).toBe(true);
  });

  it('a watch stream stays open past the request timeout (it was aborted and reopened every requestTimeoutMs)', async () => {
    const c = client(cluster.endpoints, 1000);
    const { revision } = await c.put('long/other', 'x');
    const progress: number[] = [];
    let disconnects = 0;
    const watch = c.watch({
      key: 'long/k', fromRevision: revision + 1, onEvents: () => {}, onProgress: (r) => progress.push(r),
      onDisconnect: () => { disconnects++; }, onError: (e) => { throw e; },
    });
    const t0 = Date.now();
    // Progress notifications every 500 ms: wait until the stream has lived 3 request timeouts.
    await waitFor(() => Date.now() - t0 > 3000 && progress.length >= 5, { what: '3 s of progress notifications', timeoutMs: 15_000 });
    watch.close();
    expect(disconnects).toBe(0);
  });

  it('a watch on a member that loses its quorum is ended by etcd (hasleader) and resumes once the quorum is back, instead of going silent', async () => {
    const x = 0;
    const watcher = client([cluster.endpoints[x]!]);
    const writer = client();
    const { revision } = await writer.put('q/k/0', 'v0');
    const events: WatchEvent[] = [];
    let disconnects = 0;
    const watch = watcher.watch({
      key: 'q/k/', prefix: true, fromRevision: revision, retryMs: 200,
      onEvents: (evs) => { events.push(...evs); }, onDisconnect: () => { disconnects++; }, onError: (e) => { throw e; },
    });
    await waitFor(() => events.length === 1, { what: 'the first event' });
    await Promise.all([1, 2].map((i) => cluster.kill(i)));
    await waitFor(() => disconnects > 0, { what: 'the watch to end on the leaderless member', timeoutMs: 20_000 });
    await cluster.restart(1);
    await writer.put('q/k/1', 'v1');
    await waitFor(() => events.length === 2, { what: 'the event after the quorum came back', timeoutMs: 20_000 });
    watch.close();
    expect(events.map((e) => e.kv.key)).toEqual(['q/k/0', 'q/k/1']);
  });

  it('a watch from a compacted revision fails with PLX_BROKER_ETCD_COMPACTED, and so does a range at it', async () => {
    const c = client();
    const first = await c.put('cmpt/a', '1');
    await c.put('cmpt/a', '2');
    const last = await c.put('cmpt/a', '3');
    await cluster.compact(last.revision);
    const err = await new Promise<BrokerError>((resolve) => {
      c.watch({ key: 'cmpt/', prefix: true, fromRevision: first.revision, onEvents: () => {}, onError: resolve });
    });
    expect(err.code).toBe('PLX_BROKER_ETCD_COMPACTED');
    expect(err.details).toMatchObject({ fromRevision: first.revision, compactRevision: last.revision });
    expect(await codeOf(c.range('cmpt/', { revision: first.revision }))).toBe('PLX_BROKER_ETCD_COMPACTED');
  });

  it('a quiet watch from the next revision gets progress notifications (etcd sends none to a watch starting in the future)', async () => {
    const c = client();
    const { revision } = await c.put('quiet/other', 'x');
    const progress: number[] = [];
    const watch = c.watch({ key: 'quiet/k', fromRevision: revision + 1, onEvents: () => {}, onProgress: (r) => progress.push(r), onError: (e) => { throw e; } });
    await waitFor(() => progress.length >= 2, { what: 'two progress notifications', timeoutMs: 10_000 });
    watch.close();
    expect(progress[0]).toBeGreaterThanOrEqual(revision);
    expect(watch.nextRevision).toBeGreaterThan(revision);
  });
});

describe('etcd client: failures', () => {
  it('etcd leader SIGKILLed: writes resume within 5 s and every acknowledged write is present', async () => {
    const leader = await cluster.leader();
    const c = client(startingAt(leader), 2000);
    const acked: string[] = [];
    let killedAt = 0;
    let firstAckAfterKill = 0;
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await c.put(`lk/${i}`, `v${i}`);
          acked.push(`lk/${i}`);
          if (killedAt && !firstAckAfterKill) firstAckAfterKill = Date.now();
        } catch (err) {
          if (!(err instanceof BrokerError) || !['PLX_BROKER_ETCD_UNAVAILABLE', 'PLX_BROKER_ETCD_OUTCOME_UNKNOWN'].includes(err.code)) throw err;
        }
      }
    })();
    await waitFor(() => acked.length >= 50, { what: '50 writes before the kill' });
    await cluster.kill(leader);
    killedAt = Date.now();
    const before = acked.length;
    await waitFor(() => acked.length >= before + 50, { what: '50 writes after the kill', timeoutMs: 15_000 });
    stop = true;
    await writer;
    expect(firstAckAfterKill - killedAt).toBeLessThan(5000);
    const stored = new Set((await c.range('lk/')).kvs.map((kv) => kv.key));
    expect(acked.filter((k) => !stored.has(k))).toEqual([]);
  });

  it('a lease that is not kept alive expires and takes its keys; a kept one holds them', async () => {
    const c = client();
    const lost: string[] = [];
    const kept = await EtcdLease.grant(c, { ttlSeconds: 2, onLost: (e) => lost.push(e.code) });
    const dropped = await EtcdLease.grant(c, { ttlSeconds: 2, onLost: (e) => lost.push(e.code) });
    dropped.abandon();
    await c.put('lease/kept', 'x', { lease: kept.id });
    await c.put('lease/dropped', 'x', { lease: dropped.id });
    await waitFor(async () => (await c.get('lease/dropped')).kv === undefined, { what: 'the dropped lease\'s key to go', timeoutMs: 10_000 });
    expect((await c.get('lease/kept')).kv?.lease).toBe(kept.id);
    expect(lost).toEqual([]);
    expect(await codeOf(c.leaseKeepAlive(dropped.id))).toBe('PLX_BROKER_ETCD_LEASE_LOST');
    await kept.revoke();
    expect((await c.get('lease/kept')).kv).toBeUndefined();
    await c.leaseRevoke(kept.id);   // already gone: success
  });

  it('a client cut off from every member gets PLX_BROKER_ETCD_UNAVAILABLE within its request timeout, and works again once healed', async () => {
    const mine: CutProxy[] = [];
    for (const m of cluster.members) mine.push(await CutProxy.start({ host: '127.0.0.1', port: m.clientPort }));
    proxies.push(...mine);
    const c = client(mine.map((p) => `https://${p.address}`), 1500);
    await c.put('cut/k', 'before');
    for (const p of mine) p.cut('refuse');
    let t = Date.now();
    // The first call may still go out on the connection being reset: for a write that is
    // OUTCOME_UNKNOWN, never a success; a read is retried and fails as UNAVAILABLE.
    expect(await codeOf(c.ping())).toBe('PLX_BROKER_ETCD_UNAVAILABLE');
    expect(await codeOf(c.put('cut/k', 'during'))).toBe('PLX_BROKER_ETCD_UNAVAILABLE');
    expect(Date.now() - t).toBeLessThan(2 * 1500 + 1000);
    for (const p of mine) p.cut('blackhole');
    t = Date.now();
    expect(await codeOf(c.get('cut/k'))).toBe('PLX_BROKER_ETCD_UNAVAILABLE');
    expect(Date.now() - t).toBeLessThan(1500 + 1000);
    for (const p of mine) p.heal();
    await waitFor(async () => (await c.get('cut/k')).kv?.value.toString() === 'before', { what: 'reads after the heal' });
  });

  it('a write sent into a connection that goes silent is PLX_BROKER_ETCD_OUTCOME_UNKNOWN and not re-sent elsewhere; reads fail over', async () => {
    const mine: CutProxy[] = [];
    for (const m of cluster.members) mine.push(await CutProxy.start({ host: '127.0.0.1', port: m.clientPort }));
    proxies.push(...mine);
    const c = client(mine.map((p) => `https://${p.address}`), 1500);
    await c.put('silent/k', 'before');
    expect(c.transport.currentEndpoint).toBe(`https://${mine[0]!.address}`);
    mine[0]!.cut('blackhole');
    expect(await codeOf(c.put('silent/k', 'during'))).toBe('PLX_BROKER_ETCD_OUTCOME_UNKNOWN');
    // The read goes to the next member, and shows the write did not land through another one.
    expect((await c.get('silent/k')).kv?.value.toString()).toBe('before');
    expect(c.transport.currentEndpoint).not.toBe(`https://${mine[0]!.address}`);
  });

  it('answers that break the v3 API\'s shape are PLX_BROKER_ETCD_BAD_RESPONSE, for calls and for watch streams', async () => {
    // A TLS server with a member's certificate that answers like etcd, but wrongly.
    const server = https.createServer({
      cert: readFileSync(path.join(cluster.dir, 'pki', 'm0.crt')), key: readFileSync(path.join(cluster.dir, 'pki', 'm0.key')),
      ca: cluster.tls.caPem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3',
    }, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (req.url === '/v3/watch') res.end('{"result":{"header":{"revision":"2"},"created":true}}\n{"result":{"header":{"revision":"3"},"events":[{"kv":{"key":"!!","mod_revision":"3"}}]}}\n');
      else res.end('{"header":{"revision":"NaN"},"kvs":[]}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const c = client([`https://127.0.0.1:${(server.address() as AddressInfo).port}`], 1500);
      expect(await codeOf(c.get('k'))).toBe('PLX_BROKER_ETCD_BAD_RESPONSE');
      const err = await new Promise<BrokerError>((resolve) => {
        c.watch({ key: 'k/', prefix: true, fromRevision: 2, onEvents: () => { throw new Error('a bad event was delivered'); }, onError: resolve });
      });
      expect(err.code).toBe('PLX_BROKER_ETCD_BAD_RESPONSE');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('bad options are refused at once, every problem listed', () => {
    let err: unknown;
    try {
      EtcdClient.create({ endpoints: ['http://127.0.0.1:2379', 'https://x:1/path'], tls: { ca: '', cert: 'c', key: 'k' }, requestTimeoutMs: 0 });
    } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'PLX_BROKER_ETCD_CONFIG_INVALID' });
    expect((err as BrokerError).details).toHaveLength(4);
  });
});
