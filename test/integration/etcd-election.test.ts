// Leader election of broker replicas (broker/etcd/etcd-election.ts) on a real 3-member
// etcd cluster: hand-over on resign, on lease revocation and when the leader's process dies.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../broker/etcd/etcd-client.ts';
import { EtcdElection, type LeaderInfo, type Leadership } from '../../broker/etcd/etcd-election.ts';
import { EtcdLease } from '../../broker/etcd/etcd-lease.ts';
import { startEtcdCluster, type EtcdCluster } from '../harness/etcd-cluster.ts';
import { waitFor } from '../harness/wait-for.ts';

let cluster: EtcdCluster;
let c: EtcdClient;
const children: ChildProcess[] = [];

beforeAll(async () => {
  cluster = await startEtcdCluster({ members: 3 });
  c = EtcdClient.create({ endpoints: cluster.endpoints, tls: { ca: cluster.tls.caPem, cert: cluster.tls.certPem, key: cluster.tls.keyPem }, requestTimeoutMs: 3000 });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await c?.close();
  await cluster?.stop();
});

async function candidate(election: EtcdElection, value: string) {
  const lease = await EtcdLease.grant(c, { ttlSeconds: 5, onLost: () => {} });
  let leadership: Leadership | undefined;
  let failed: unknown;
  const campaign = election.campaign(lease, value).then((l) => { leadership = l; return l; }, (err: unknown) => { failed = err; });
  return { lease, campaign, leads: () => leadership, failed: () => failed };
}

describe('etcd election', () => {
  it('hands over in line: resign passes to the next candidate, revoking the leader\'s lease to the one after; a fenced write of the old leader fails', async () => {
    const election = new EtcdElection(c, 'election/a/');
    const seen: (string | undefined)[] = [];
    const stopObserving = election.observe((l: LeaderInfo | undefined) => seen.push(l?.value), (err) => { throw err; });
    await waitFor(() => seen.length === 1, { what: 'the observer\'s first report (no leader yet)' });
    const a = await candidate(election, 'replica-a');
    await a.campaign;
    const b = await candidate(election, 'replica-b');
    const d = await candidate(election, 'replica-c');
    expect(a.leads()).toBeDefined();
    expect((await election.leader())?.value).toBe('replica-a');
    // The others wait in line until the one ahead of them goes.
    await waitFor(async () => (await c.range('election/a/')).kvs.length === 3, { what: 'three candidates' });
    expect(b.leads()).toBeUndefined();

    await election.resign(a.leads()!);
    await b.campaign;
    expect(b.leads()).toBeDefined();
    expect(d.leads()).toBeUndefined();
    const fenced = await c.txn({ compare: [a.leads()!.compare], success: [{ put: { key: 'election/a-data', value: 'from a' } }] });
    expect(fenced.succeeded).toBe(false);

    await b.lease.revoke();
    await d.campaign;
    expect(d.leads()).toBeDefined();
    await waitFor(() => seen.at(-1) === 'replica-c', { what: 'the observer to see replica-c lead' });
    expect(seen).toEqual([undefined, 'replica-a', 'replica-b', 'replica-c']);
    stopObserving();
    await d.lease.revoke();
    await a.lease.revoke();
  });

  it('a candidate waiting in line whose lease is revoked behind its back stops waiting with PLX_BROKER_ETCD_LEASE_LOST', async () => {
    const election = new EtcdElection(c, 'election/c/');
    const leader = await candidate(election, 'leader');
    await leader.campaign;
    const waiting = await candidate(election, 'waiting');
    await waitFor(async () => (await c.range('election/c/')).kvs.length === 2, { what: 'two candidates' });
    await c.leaseRevoke(waiting.lease.id);
    await waiting.campaign;
    expect(waiting.failed()).toMatchObject({ code: 'PLX_BROKER_ETCD_LEASE_LOST' });
    expect((await election.leader())?.value).toBe('leader');
    await leader.lease.revoke();
  });

  it('the leader\'s process is SIGKILLed: its lease expires and the waiting candidate leads', async () => {
    const election = new EtcdElection(c, 'election/b/');
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'fixtures', 'etcd-campaigner.ts')], {
      env: { ...process.env, ETCD_CAMPAIGN: JSON.stringify({ endpoints: cluster.endpoints, ...cluster.tls.files, prefix: 'election/b/', value: 'child', ttlSeconds: 2 }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (l) => { if (l.startsWith('leading ')) resolve(); });
      child.once('exit', (code) => reject(new Error(`campaigner exited ${code}`)));
    });
    expect((await election.leader())?.value).toBe('child');
    const me = await candidate(election, 'survivor');
    expect(me.leads()).toBeUndefined();
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await me.campaign;
    expect(me.failed()).toBeUndefined();
    expect(me.leads()).toBeDefined();
    // Not before the dead leader's lease (TTL 2 s) ran out.
    expect(Date.now() - killedAt).toBeGreaterThan(1000);
    expect((await election.leader())?.value).toBe('survivor');
    await me.lease.revoke();
  });
});
