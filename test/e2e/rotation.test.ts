// Certificate rotation end to end: two real control planes, a real broker issuing 20 s
// cluster certificates, two `plexus agent run` processes keeping their identity in a
// Secret, the real `dig` and the real kubectl through each agent's access proxy. While
// every agent renews at least three times, DNS over UDP and TCP, catalog changes through
// the broker watch, kubectl requests and a long-running `kubectl get -w` through the proxy
// keep flowing with zero failures. Then the broker goes away for longer than the
// certificates live, and the agents renew their expired certificates as soon as it is back.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../harness/cluster.ts';
import { resolveBinaries } from '../harness/binaries.ts';
import { freePorts } from '../harness/free-ports.ts';
import { dig } from './support/dig.ts';
import { createService, ensureNamespace, exportService, setEndpoints } from './support/objects.ts';
import { kubectlAs, loginPerson, type Person } from './support/people.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const LIFETIME_S = 20;
const kubectlBin = resolveBinaries().kubectl;
const metricsPorts = await freePorts(2);

/** The certificate the agent of `c` has stored in its identity Secret. */
async function storedCert(c: Cluster): Promise<{ serial: string; notAfter: Date }> {
  const s = await c.client(CoreV1Api).readNamespacedSecret({ namespace: 'plexus-system', name: 'plexus-agent-identity' });
  const cert = new X509Certificate(Buffer.from(s.data!['tls.crt']!, 'base64').toString('utf8'));
  return { serial: cert.serialNumber.toLowerCase(), notAfter: cert.validToDate };
}

/** One kind of traffic, repeated until stopped; every failure is kept with what it was. */
class Loop {
  readonly failures: string[] = [];
  readonly name: string;
  ok = 0;
  #stopped = false;
  readonly #done: Promise<void>;
  constructor(name: string, step: () => Promise<string | undefined>, pauseMs: number) {
    this.name = name;
    this.#done = (async () => {
      while (!this.#stopped) {
        const failure = await step().catch((err: unknown) => `threw ${(err as Error).message}`);
        if (failure) this.failures.push(`${name}: ${failure}`);
        else this.ok++;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  }
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

describe('certificate rotation with traffic flowing', () => {
  const fixture = useMesh({
    clusters: 2,
    brokerArgs: ['--cluster-cert-lifetime', `${LIFETIME_S}s`],
    agentArgs: (c) => ['--metrics-listen', `127.0.0.1:${metricsPorts[c === 'cluster-1' ? 0 : 1]}`],
  });
  const c = (i: number) => fixture.mesh.cluster(i);
  const home = mkdtempSync(path.join(os.tmpdir(), 'plexus-rotation-'));
  let dana: Person;
  const kubectl = (args: string[]) => kubectlAs(dana, args, { requestTimeout: '10s' });
  const agentDig = (args: string[]) => {
    const { host, port } = fixture.mesh.dnsAddress('cluster-2');
    return dig(host, port, args);
  };
  const serials = [new Set<string>(), new Set<string>()];
  let polling = true;
  let poller: Promise<void> | undefined;
  let exported = 0;

  /** A headless Service exported from cluster-1; its A records reach cluster-2's DNS only through the broker watch. */
  async function exportHeadless(name: string, ip: string): Promise<void> {
    await createService(c(0), 'shop', name, { clusterIP: 'None' });
    await setEndpoints(c(0), 'shop', name, [ip]);
    await exportService(c(0), 'shop', name);
  }

  beforeAll(async () => {
    for (const i of [0, 1]) {
      await ensureNamespace(c(i), 'shop');
      await ensureNamespace(c(i), 'team');
      const rbac = c(i).client(RbacAuthorizationV1Api);
      await rbac.createClusterRole({ body: { metadata: { name: 'plexus-e2e-read' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }] } });
      await rbac.createClusterRoleBinding({ body: {
        metadata: { name: 'plexus-dev-read' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'plexus-e2e-read' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:dev' }],
      } });
    }
    dana = await loginPerson(fixture.mesh, 'dana', ['dev'], home);
    await exportHeadless('cart', '10.1.0.1');
    await waitFor(async () => (await agentDig(['cart.shop.svc.clusterset.local', 'A'])).answers.length === 1, { what: 'cart in cluster-2 DNS', timeoutMs: 60_000 });
    const poll = async () => {
      for (const i of [0, 1]) serials[i]!.add((await storedCert(c(i))).serial);
    };
    await poll();
    poller = (async () => {
      while (polling) {
        await new Promise((r) => setTimeout(r, 250));
        await poll();
      }
    })();
  }, 240_000);

  afterAll(async () => {
    polling = false;
    await poller;
    rmSync(home, { recursive: true, force: true });
  });

  const metric = async (i: number, line: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPorts[i]}/metrics`)).text();
    const hit = text.split('\n').find((l) => l.startsWith(line));
    return hit ? Number(hit.split(' ').at(-1)) : 0;
  };

  function startTraffic(): Loop[] {
    return [
      new Loop('dns udp', async () => {
        const r = await agentDig(['cart.shop.svc.clusterset.local', 'A']);
        return r.status === 'NOERROR' && r.answers.length === 1 ? undefined : `status ${r.status}, ${r.answers.length} answers`;
      }, 50),
      new Loop('dns tcp', async () => {
        const r = await agentDig(['+tcp', 'cart.shop.svc.clusterset.local', 'A']);
        return r.status === 'NOERROR' && r.answers.length === 1 ? undefined : `status ${r.status}, ${r.answers.length} answers`;
      }, 50),
      ...[1, 2].map((n) => new Loop(`kubectl via proxy of cluster-${n}`, async () => {
        const r = await kubectl(['--context', `plexus-cluster-${n}`, 'get', 'configmaps', '-n', 'team', '-o', 'name']);
        return r.code === 0 ? undefined : `exit ${r.code}: ${r.stderr.trim()}`;
      }, 100)),
      new Loop('catalog change through the broker watch', async () => {
        const n = ++exported;
        const name = `svc-${n}`;
        const ip = `10.2.${n >> 8}.${n & 255}`;
        await exportHeadless(name, ip);
        const started = Date.now();
        while (Date.now() - started < 15_000) {
          const r = await agentDig([`${name}.shop.svc.clusterset.local`, 'A']);
          if (r.answers.length === 1 && r.answers[0]!.at(-1) === ip) return undefined;
          await new Promise((res) => setTimeout(res, 100));
        }
        return `${name} not in cluster-2 DNS after 15 s`;
      }, 1000),
    ];
  }

  it('renews every agent at least three times while DNS, the broker watch and kubectl via the proxy see zero failures', async () => {
    // A watch through the proxy opened before the rotations must carry on across all of them.
    const watch: ChildProcess = spawn(kubectlBin, ['--kubeconfig', dana.kubeconfig, '--cache-dir', path.join(home, 'cache-w'), '--context', 'plexus-cluster-1',
      'get', 'configmaps', '-n', 'team', '-w', '-o', 'name'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let watched = '';
    watch.stdout!.on('data', (d: Buffer) => { watched += d.toString(); });
    const start = serials.map((s) => s.size);
    const successAtStart = await Promise.all([0, 1].map((i) => metric(i, 'plexus_agent_certificate_rotations_total{outcome="success"}')));
    const loops = startTraffic();
    const cms: string[] = [];
    const deadline = Date.now() + 6 * LIFETIME_S * 1000;
    try {
      while (serials.some((s, i) => s.size - start[i]! < 3)) {
        const name = `cm-${cms.length}`;
        await c(0).client(CoreV1Api).createNamespacedConfigMap({ namespace: 'team', body: { metadata: { name } } });
        cms.push(name);
        await waitFor(async () => watched.includes(`configmap/${name}\n`), { what: `${name} on the proxied watch`, timeoutMs: 15_000 });
        if (Date.now() > deadline) throw new Error(`fewer than 3 rotations per agent in ${6 * LIFETIME_S} s: ${serials.map((s, i) => s.size - start[i]!)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await Promise.all(loops.map((l) => l.stop()));
    }
    expect(watch.exitCode).toBeNull();
    watch.kill();
    expect(loops.flatMap((l) => l.failures)).toEqual([]);
    for (const l of loops) expect(l.ok).toBeGreaterThan(0);
    for (const i of [0, 1]) {
      expect(await metric(i, 'plexus_agent_certificate_rotations_total{outcome="failure"}')).toBe(0);
      expect(await metric(i, 'plexus_agent_certificate_rotations_total{outcome="success"}') - successAtStart[i]!).toBeGreaterThanOrEqual(3);
      expect(await metric(i, 'plexus_agent_broker_connected')).toBe(1);
      const log = readFileSync(path.join(fixture.mesh.dir, `agent-cluster-${i + 1}.log`), 'utf8');
      expect(log).not.toContain('catalog watch failed');
    }
    console.info(`[rotation] requests without failure: ${loops.map((l) => `${l.name} ${l.ok}`).join(', ')}; rotations ${serials.map((s, i) => s.size - start[i]!)}`);
  }, 300_000);

  it('renews certificates that expired during a broker outage as soon as the broker is back', async () => {
    const m = fixture.mesh;
    await m.stopBroker();
    const before = await Promise.all([0, 1].map((i) => storedCert(c(i))));
    const lastExpiry = Math.max(...before.map((b) => b.notAfter.getTime()));
    // Everything the agents hold keeps answering while the broker is gone (an outage is not a deletion).
    const dns = new Loop('dns during the outage', async () => {
      const r = await agentDig(['cart.shop.svc.clusterset.local', 'A']);
      return r.answers.length === 1 ? undefined : `status ${r.status}`;
    }, 200);
    await waitFor(async () => Date.now() > lastExpiry + 2000, { what: 'both certificates expired', timeoutMs: (LIFETIME_S + 10) * 1000 });
    await dns.stop();
    expect(dns.failures).toEqual([]);
    const backAt = Date.now();
    await m.startBroker();
    const renewed = await waitFor(async () => {
      const now = await Promise.all([0, 1].map((i) => storedCert(c(i))));
      return now.every((x, i) => x.serial !== before[i]!.serial && x.notAfter.getTime() > Date.now()) ? now : undefined;
    }, { what: 'fresh certificates in both Secrets' });
    const tookMs = Date.now() - backAt;
    console.info(`[rotation] expired certificates renewed ${tookMs} ms after the broker came back`);
    expect(renewed).toHaveLength(2);
    // Traffic recovers: the proxy serves, and catalog changes flow through the broker watch again.
    await waitFor(async () => (await kubectl(['--context', 'plexus-cluster-2', 'get', 'configmaps', '-n', 'team'])).code === 0, { what: 'kubectl via the proxy' });
    await exportHeadless('after-outage', '10.3.0.1');
    await waitFor(async () => (await agentDig(['after-outage.shop.svc.clusterset.local', 'A'])).answers.length === 1, { what: 'a new export in cluster-2 DNS' });
    for (const i of [0, 1]) {
      expect(await metric(i, 'plexus_agent_certificate_rotations_total{outcome="refused"}')).toBe(0);
      // The outage let the certificate pass 90% of its life: operators were told.
      const events = await c(i).client(CoreV1Api).listNamespacedEvent({ namespace: 'plexus-system' });
      const expiring = events.items.filter((e) => e.reason === 'CertificateExpiring' && e.involvedObject.name === 'plexus-agent-identity');
      expect(expiring.length).toBeGreaterThanOrEqual(1);
      expect(expiring[0]!.type).toBe('Warning');
    }
  }, 180_000);
});
