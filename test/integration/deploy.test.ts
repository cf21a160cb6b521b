// deploy/ validates against a real API server: every kustomize base and overlay renders
// with the real kubectl and is accepted by `kubectl apply --dry-run=server` (schema,
// defaulting and admission, including the restricted Pod Security level).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useClusters } from '../harness/use-clusters.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');

describe('deploy/ manifests', () => {
  const lab = useClusters(1);

  async function render(dir: string): Promise<string> {
    const r = await lab.cluster(0).kubectl(['kustomize', path.join(repo, 'deploy', dir)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return r.stdout;
  }

  async function serverDryRun(manifests: string): Promise<string> {
    // Namespaces must exist for namespaced objects to be dry-run; create them for real first.
    const ns = manifests.split(/^---$/m).filter((doc) => /^kind: Namespace$/m.test(doc)).join('\n---\n');
    if (ns) expect((await lab.cluster(0).kubectl(['apply', '-f', '-'], { input: ns })).code).toBe(0);
    const r = await lab.cluster(0).kubectl(['apply', '--dry-run=server', '-f', '-'], { input: manifests });
    // The harness created the CRDs without kubectl apply, so kubectl warns about the missing
    // last-applied annotation; anything other than warnings is a failure.
    expect(r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('Warning:'))).toEqual([]);
    // Pod Security admission reports workload violations as warnings: none are allowed.
    expect(r.stderr).not.toContain('PodSecurity');
    expect(r.code).toBe(0);
    return r.stdout;
  }

  it('the agent base is accepted: CRDs, namespace, least-privilege RBAC, Deployment, DNS Service', async () => {
    const out = await serverDryRun(await render('agent'));
    for (const obj of ['customresourcedefinition.apiextensions.k8s.io/serviceexports.multicluster.x-k8s.io', 'clusterrole.rbac.authorization.k8s.io/plexus-agent',
      'deployment.apps/plexus-agent', 'service/plexus-dns', 'serviceaccount/plexus-agent', 'role.rbac.authorization.k8s.io/plexus-agent-identity']) {
      expect(out).toContain(obj);
    }
  });

  it('the broker base is accepted: Deployment (with its init step), ConfigMap, PVC, Service', async () => {
    const rendered = await render('broker');
    expect(rendered.replace(/\n\s+/g, ' ')).toMatch(/test -e \/data\/broker\/ca\/root\.crt \|\| exec node \/app\/bin\/plexus\.ts broker init --data-dir \/data\/broker/);
    const out = await serverDryRun(rendered);
    for (const obj of ['deployment.apps/plexus-broker', 'configmap/plexus-broker', 'persistentvolumeclaim/plexus-broker-data', 'service/plexus-broker']) expect(out).toContain(obj);
  });

  it('the lab overlay renders its patches and is accepted', async () => {
    const rendered = await render('overlays/lab');
    expect(rendered).toContain('--lease-duration=10s');
    expect(rendered).toContain('--log-level=debug');
    await serverDryRun(rendered);
  });

  it('the real-node overlays never pull the image and put the broker, proxy and probe on NodePorts', async () => {
    const broker = await render('overlays/real-nodes/broker');
    const agent = await render('overlays/real-nodes/agent');
    for (const r of [broker, agent]) {
      expect(r.match(/image: plexus\.local\/plexus:latest\n\s*imagePullPolicy: Never/g)).toHaveLength(2);   // init + main container
    }
    expect(broker).toMatch(/nodePort: 30743/);
    expect(agent).toMatch(/nodePort: 30443/);
    expect(agent).toMatch(/nodePort: 30943/);
    await serverDryRun(broker);
    await serverDryRun(agent);
  });

  it('liveness never kills a broker or agent still loading on a busy node: each has a startupProbe, and no probe gives up after 1 s', async () => {
    for (const base of ['agent', 'broker']) {
      const deployments = (await render(base)).split(/^---$/m).filter((d) => /^kind: Deployment$/m.test(d));
      for (const d of deployments) {
        expect(d, base).toMatch(/startupProbe:/);
        expect(d.match(/timeoutSeconds: 5/g), base).toHaveLength(3);       // startup, liveness, readiness
      }
    }
  });

  it('the broker\'s init container had no resources: every container, init included, requests memory and CPU and has a memory limit', async () => {
    for (const base of ['agent', 'broker', 'overlays/lab', 'overlays/real-nodes/agent', 'overlays/real-nodes/broker']) {
      const deployments = (await render(base)).split(/^---$/m).filter((d) => /^kind: Deployment$/m.test(d));
      expect(deployments.length, base).toBeGreaterThan(0);
      for (const d of deployments) {
        // Each container starts at '- name:' at the list's indentation; its resources block follows.
        const sections = d.split(/^ {6}(?:initContainers|containers):$/m).slice(1);
        expect(sections, base).toHaveLength(2);
        for (const list of sections) {
          const containers = list.split(/^ {6}- (?=[a-zA-Z]+:)/m).slice(1).filter((c) => /\bimage:/.test(c));
          expect(containers.length, base).toBeGreaterThan(0);
          for (const c of containers) {
            const name = /^ {8}name: (\S+)/m.exec(c)?.[1];
            expect(c, `${base} ${name}`).toMatch(/resources:\n\s+limits:\n\s+memory: \S+\n\s+requests:\n\s+cpu: \S+\n\s+memory: \S+/);
          }
        }
      }
    }
  });

  it('the etcd base is accepted: 3 members started together, TLS 1.3 with client certificates on both ports, peer names for not-ready members, a PDB of one', async () => {
    const rendered = await render('etcd');
    for (const flag of ['--tls-min-version=TLS1.3', '--client-cert-auth', '--peer-client-cert-auth', '--peer-cert-allowed-cn=etcd-peer',
      '--listen-client-urls=https://0.0.0.0:2379', '--listen-peer-urls=https://0.0.0.0:2380', '--initial-cluster-state=new']) {
      expect(rendered).toContain(`- ${flag}\n`);
    }
    expect(rendered).not.toMatch(/--(listen|advertise)-client-urls=http:|--listen-peer-urls=http:|--initial-advertise-peer-urls=http:/);
    expect(rendered).toMatch(/replicas: 3\n/);
    expect(rendered).toMatch(/podManagementPolicy: Parallel/);
    expect(rendered).toMatch(/publishNotReadyAddresses: true/);
    expect(rendered).toMatch(/kind: PodDisruptionBudget[\s\S]*maxUnavailable: 1/);
    expect(rendered).toMatch(/preferredDuringSchedulingIgnoredDuringExecution:[\s\S]*topologyKey: kubernetes\.io\/hostname/);
    expect(rendered).toMatch(/resources:\n\s+limits:\n\s+memory: \S+\n\s+requests:\n\s+cpu: \S+\n\s+memory: \S+/);
    expect(rendered.match(/defaultMode: 288/g)).toHaveLength(2);            // both certificate Secrets 0440
    const out = await serverDryRun(rendered);
    for (const obj of ['statefulset.apps/etcd', 'service/etcd-peer', 'service/etcd', 'poddisruptionbudget.policy/etcd']) expect(out).toContain(obj);
  });

  it('the real-node etcd overlay never pulls the image', async () => {
    const rendered = await render('overlays/real-nodes/etcd');
    expect(rendered).toMatch(/image: plexus\.local\/etcd:latest\n\s*imagePullPolicy: Never/);
    await serverDryRun(rendered);
  });

  it('the replicated broker overlay (pending the etcd flags) runs 3 replicas with a PDB and spread, no PVC and no init, the CA and etcd client Secrets mounted read-only 0440', async () => {
    const rendered = await render('overlays/broker-etcd');
    expect(rendered).toMatch(/replicas: 3\n/);
    expect(rendered).toMatch(/type: RollingUpdate/);
    expect(rendered).not.toMatch(/Recreate|PersistentVolumeClaim|persistentVolumeClaim|broker init/);
    expect(rendered).toMatch(/kind: PodDisruptionBudget[\s\S]*maxUnavailable: 1/);
    expect(rendered).toMatch(/topologySpreadConstraints:[\s\S]*topologyKey: kubernetes\.io\/hostname/);
    expect(rendered).toMatch(/- mountPath: \/etc\/plexus\/ca\n\s+name: ca\n\s+readOnly: true/);
    expect(rendered).toMatch(/- mountPath: \/etc\/plexus\/etcd\n\s+name: etcd-client\n\s+readOnly: true/);
    expect(rendered).toMatch(/defaultMode: 288[\s\S]*key: root\.key[\s\S]*secretName: plexus-broker-ca/);
    expect(rendered).toMatch(/secretName: plexus-broker-etcd-client/);
    expect(rendered).toContain('endpoints: https://etcd-0.etcd-peer.plexus-etcd.svc:2379,');
    const out = await serverDryRun(rendered);
    for (const obj of ['deployment.apps/plexus-broker', 'poddisruptionbudget.policy/plexus-broker', 'configmap/plexus-broker-etcd']) expect(out).toContain(obj);
  });

  it('the default broker stays one replica on its PVC: the replicated overlay is referenced by no other base or overlay', async () => {
    for (const dir of ['broker', 'overlays/lab', 'overlays/real-nodes/broker']) {
      const rendered = await render(dir);
      expect(rendered, dir).toMatch(/replicas: 1\n/);
      expect(rendered, dir).toContain('claimName: plexus-broker-data');
      expect(rendered, dir).not.toMatch(/etcd/);
    }
  });

  it('grants the agent no wildcard and no cluster-wide Secret access', async () => {
    const rendered = await render('agent');
    const roles = rendered.split(/^---$/m).filter((d) => /^kind: ClusterRole$/m.test(d));
    expect(roles).toHaveLength(3);
    for (const role of roles) {
      expect(role).not.toMatch(/- '\*'|- "\*"|\[\*\]|- \*/);
      expect(role).not.toMatch(/secrets/);
      expect(role).not.toMatch(/userextras|serviceaccounts|uids/);
    }
  });

  it('grants ConfigMap access only by name: the trust bundle, and the gateway tunnel table', async () => {
    const rendered = await render('agent');
    const rules = rendered.split(/^\s*- apiGroups:/m).filter((r) => /configmaps/.test(r));
    expect(rules).toHaveLength(2);
    const names = rules.map((r) => /resourceNames:\s*(?:\n\s*- (\S+)|\[([^\]]+)\])/.exec(r)).map((m) => m?.[1] ?? m?.[2]);
    expect(names.sort()).toEqual(['plexus-gateway-tunnels', 'plexus-trust-bundle']);
  });
});
