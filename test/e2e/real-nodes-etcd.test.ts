// deploy/etcd/ on a real node (issue 16): the StatefulSet of three members from the
// locally built etcd image (scripts/etcd-image.sh), TLS 1.3 with client certificates on the
// client and peer ports, each member's data on its own PV. Checked with real clients from
// the node's network namespace (curl against etcd's v3 JSON gateway, openssl s_client):
//   - all three members healthy over TLS, one leader;
//   - a member's pod deleted: the other two keep serving writes; the StatefulSet's new pod
//     rejoins with its volume and holds every key, those written while it was gone too;
//   - the leader's etcd SIGKILLed through containerd (no leadership hand-over) and its pod
//     deleted: the two others elect a leader and keep serving writes; it rejoins likewise;
//   - a member runs as uid 65532 and reads its certificates from read-only Secrets, 0440;
//   - the PodDisruptionBudget allows one eviction at a time;
//   - refused: a client without a certificate, a client with a certificate of the peer CA,
//     and TLS 1.2 on the client and the peer port.
// Needs root and `npm run nodes:install`; runs with `npm run test:nodes`.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { deployEtcd } from '../harness/etcd-deploy.ts';
import type { EtcdDeployment } from '../harness/etcd-deploy.ts';
import { nodePaths } from '../harness/node-config.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';

const run = promisify(execFile);
const KEYS = '/plexus-e2e/';

describe('etcd from deploy/etcd/ on a real node', () => {
  const lab = useClusters(1, { nodes: true });
  let etcd: EtcdDeployment;
  const written: Record<string, string> = {};

  beforeAll(async () => {
    etcd = await deployEtcd(lab.set);
    console.log(`[real-nodes-etcd] image ${etcd.image.ref}: import ${etcd.timings.image} ms; apply -k → 3 members healthy over TLS ${etcd.timings.ready} ms`);
  }, 600_000);

  const saveLogsOnFailure = () => onTestFailed(async () => {
    const file = path.join(lab.set.logsDir, 'etcd-deploy.log');
    writeFileSync(file, await etcd.logs());
    console.error(`[real-nodes-etcd] diagnostics: ${file}`);
  });

  /** Writes a key through `to` (retried until the quorum takes it) and remembers it. */
  async function write(key: string, value: string, to: number | 'service', what: string): Promise<void> {
    await waitFor(async () => { await etcd.put(`${KEYS}${key}`, value, to); return true; }, { what, timeoutMs: 60_000, intervalMs: 500 });
    written[`${KEYS}${key}`] = value;
  }

  /** Deletes member i's pod and waits for its replacement to be Ready; `whileGone` runs after the old pod stopped. */
  async function replacePod(i: number, whileGone: () => Promise<void>): Promise<void> {
    const uid = (await etcd.kubectl(['get', 'pod', `etcd-${i}`, '-o', 'jsonpath={.metadata.uid}'])).trim();
    await etcd.kubectl(['delete', 'pod', `etcd-${i}`, '--wait=true'], { timeoutMs: 120_000 });
    await whileGone();
    await waitFor(async () => {
      const out = (await etcd.kubectl(['get', 'pod', `etcd-${i}`, '-o', 'jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}'])).trim();
      const [newUid, ready] = out.split(' ');
      return newUid !== uid && ready === 'True';
    }, { what: `a new etcd-${i} pod Ready`, timeoutMs: 300_000, intervalMs: 1000 });
  }

  /** Member i, asked alone (serializable reads from its own copy), holds exactly every key written so far. */
  async function holdsEverything(i: number): Promise<void> {
    await waitFor(async () => JSON.stringify(await etcd.list(KEYS, i)) === JSON.stringify(Object.fromEntries(Object.entries(written).sort())),
      { what: `etcd-${i} to hold all ${Object.keys(written).length} keys`, timeoutMs: 120_000, intervalMs: 500 });
    expect(await etcd.list(KEYS, i)).toEqual(written);
  }

  it('three members come up healthy over TLS 1.3 with one leader, and serve writes through the client Service (the JSON gateway failed while the serving certificate lacked clientAuth)', async () => {
    saveLogsOnFailure();
    for (const i of [0, 1, 2]) expect(await etcd.healthy(i)).toBe(true);
    const members = await etcd.members();
    expect([...members.values()].sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
    expect([0, 1, 2]).toContain(await etcd.leader());
    await write('first', 'v1', 'service', 'a write through the client Service');
    for (const i of [0, 1, 2]) await holdsEverything(i);
  });

  it('a member\'s pod deleted: the other two keep serving writes, and the new pod rejoins holding every key', async () => {
    saveLogsOnFailure();
    const leader = await etcd.leader();
    const victim = (leader + 1) % 3;
    const survivor = (leader + 2) % 3;
    await replacePod(victim, async () => {
      for (let k = 0; k < 5; k++) await write(`member-gone-${k}`, `v${k}`, survivor, `a write through etcd-${survivor} while etcd-${victim} is gone`);
    });
    await waitFor(() => etcd.healthy(victim), { what: `etcd-${victim} healthy again`, timeoutMs: 120_000, intervalMs: 1000 });
    await write('after-member', 'back', victim, `a write through the rejoined etcd-${victim}`);
    for (const i of [0, 1, 2]) await holdsEverything(i);
  });

  it('the leader\'s etcd killed (SIGKILL, no hand-over) and its pod deleted: the two others elect a leader, keep serving writes, and it rejoins holding every key', async () => {
    saveLogsOnFailure();
    const old = await etcd.leader();
    const others = [0, 1, 2].filter((i) => i !== old);
    const id = (await etcd.kubectl(['get', 'pod', `etcd-${old}`, '-o', 'jsonpath={.status.containerStatuses[0].containerID}'])).trim().replace(/^containerd:\/\//, '');
    const socket = nodePaths(lab.set.lab!.nodes[0]!.options.dir).containerdSocket;
    await run('ctr', ['--address', socket, '--namespace', 'k8s.io', 'tasks', 'kill', '--signal', 'SIGKILL', id], { timeout: 30_000 });
    await replacePod(old, async () => {
      const next = await waitFor(async () => {
        const views = await Promise.all(others.map((i) => etcd.status(i)));
        const names = await etcd.members();
        const leader = views[0]!.leader;
        return views.every((v) => v.leader === leader) && names.get(leader) !== `etcd-${old}` ? names.get(leader) : undefined;
      }, { what: 'a new leader among the two others', timeoutMs: 60_000, intervalMs: 500 });
      expect(next).not.toBe(`etcd-${old}`);
      for (let k = 0; k < 5; k++) await write(`leader-gone-${k}`, `v${k}`, others[k % 2]!, 'a write while the old leader is gone');
    });
    await waitFor(() => etcd.healthy(old), { what: `etcd-${old} healthy again`, timeoutMs: 120_000, intervalMs: 1000 });
    await write('after-leader', 'back', old, `a write through the rejoined etcd-${old}`);
    for (const i of [0, 1, 2]) await holdsEverything(i);
    const mib = Object.entries(await etcd.memberMemoryBytes()).map(([pod, b]) => `${pod} ${b === undefined ? '?' : (b / 2 ** 20).toFixed(1)} MiB`);
    console.log(`[real-nodes-etcd] member memory (cgroup RSS) after ${Object.keys(written).length} keys and two member losses: ${mib.join(', ')}`);
  });

  it('a member runs as the image\'s etcd user and reads its certificates from Secrets mounted read-only, 0440, group 65532', async () => {
    saveLogsOnFailure();
    const exec = async (args: string[]) => etcd.cluster.kubectl(['-n', 'plexus-etcd', 'exec', 'etcd-0', '-c', 'etcd', '--', ...args]);
    expect((await exec(['id', '-u'])).stdout.trim()).toBe('65532');
    for (const f of ['server/tls.key', 'server/ca.crt', 'peer/tls.key', 'peer/tls.crt']) {
      const r = await exec(['stat', '-L', '-c', '%a %u %g', `/etc/etcd/tls/${f}`]);
      expect(r.stdout.trim(), f).toBe('440 0 65532');
    }
    const write = await exec(['touch', '/etc/etcd/tls/server/x']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    // etcd made its data dir 0700 below the PVC's mount.
    expect((await exec(['stat', '-c', '%a %u', '/var/lib/etcd/data'])).stdout.trim()).toBe('700 65532');
  });

  it('the PodDisruptionBudget lets one member be evicted at a time: a second eviction is refused until the first is back', async () => {
    saveLogsOnFailure();
    const evict = (i: number) => etcd.cluster.kubectl(['create', '--raw', `/api/v1/namespaces/plexus-etcd/pods/etcd-${i}/eviction`, '-f', '-'],
      { input: JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: `etcd-${i}`, namespace: 'plexus-etcd' } }) });
    // The PDB's status must count three healthy members before it allows a disruption.
    await waitFor(async () => (await etcd.kubectl(['get', 'pdb', 'etcd', '-o', 'jsonpath={.status.disruptionsAllowed}'])).trim() === '1',
      { what: 'the etcd PDB to allow one disruption', timeoutMs: 120_000, intervalMs: 1000 });
    const uid = (await etcd.kubectl(['get', 'pod', 'etcd-0', '-o', 'jsonpath={.metadata.uid}'])).trim();
    const first = await evict(0);
    expect(first.code, first.stderr).toBe(0);
    const second = await evict(1);
    expect(second.code).not.toBe(0);
    expect(second.stderr).toMatch(/disruption budget/i);
    await write('during-eviction', 'v', 2, 'a write while etcd-0 is evicted');
    await waitFor(async () => {
      const out = (await etcd.kubectl(['get', 'pod', 'etcd-0', '-o', 'jsonpath={.metadata.uid} {.status.conditions[?(@.type=="Ready")].status}'])).trim();
      const [newUid, ready] = out.split(' ');
      return newUid !== uid && ready === 'True';
    }, { what: 'a new etcd-0 pod Ready', timeoutMs: 300_000, intervalMs: 1000 });
    await waitFor(async () => (await evict(1)).code === 0, { what: 'evicting etcd-1 once etcd-0 is back', timeoutMs: 120_000, intervalMs: 1000 });
    await waitFor(async () => (await etcd.kubectl(['get', 'statefulset', 'etcd', '-o', 'jsonpath={.status.readyReplicas}'])).trim() === '3',
      { what: 'three members Ready again', timeoutMs: 300_000, intervalMs: 1000 });
    for (const i of [0, 1, 2]) await holdsEverything(i);
  });

  it('refuses a client without a certificate, and one whose certificate the peer CA issued', async () => {
    saveLogsOnFailure();
    const range = { key: Buffer.from(`${KEYS}first`).toString('base64') };
    // TLS 1.3 finishes the client's handshake before the server checks its certificate, so
    // curl sees only a closed connection (its wording varies); the member's log says why.
    for (const [as, why] of [['none', "tls: client didn't provide a certificate"], ['peer', 'x509: certificate signed by unknown authority']] as const) {
      const before = (await etcd.rejections(0)).filter((e) => e.includes(why)).length;
      const r = await etcd.curl('/v3/kv/range', { to: 0, as, body: range });
      expect(r.code, `${as}: ${r.body}`).not.toBe(0);
      expect(r.status, `${as}: ${r.body}`).toBe(0);                   // no HTTP answer at all
      await waitFor(async () => (await etcd.rejections(0)).filter((e) => e.includes(why)).length > before,
        { what: `etcd-0 to log a refused ${as} client: ${why}`, timeoutMs: 20_000, intervalMs: 500 });
    }
    // The broker's certificate, same call: served.
    expect(await etcd.get(`${KEYS}first`, 0)).toBe('v1');
  });

  it('refuses TLS 1.2 on the client and the peer port, and speaks TLS 1.3 on both', async () => {
    saveLogsOnFailure();
    const ip = await etcd.podIp(1);
    const f = etcd.files;
    for (const [port, creds] of [[2379, f.client], [2380, f.peer]] as const) {
      const old = await etcd.inNode('openssl', ['s_client', '-tls1_2', '-connect', `${ip}:${port}`, '-CAfile', creds.ca, '-cert', creds.cert, '-key', creds.key], { timeoutMs: 15_000 });
      expect(old.code, `TLS 1.2 on ${port}`).not.toBe(0);
      expect(`${old.stdout}${old.stderr}`, `TLS 1.2 on ${port}`).toMatch(/protocol version|no protocols available|wrong version/i);
      const now = await etcd.inNode('openssl', ['s_client', '-tls1_3', '-connect', `${ip}:${port}`, '-CAfile', creds.ca, '-cert', creds.cert, '-key', creds.key, '-verify_return_error', '-verify_hostname', 'etcd-1.etcd-peer.plexus-etcd.svc'], { timeoutMs: 15_000 });
      expect(now.stdout, `TLS 1.3 on ${port}`).toMatch(/New, TLSv1\.3/);
      expect(now.stdout, `TLS 1.3 on ${port}`).toMatch(/Verify return code: 0 \(ok\)/);
    }
  });
});
