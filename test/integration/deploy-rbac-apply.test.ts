// deploy/'s agent RBAC is enough for what the agent writes. Server-side apply is a PATCH,
// but an apply that creates the object is also authorized as `create` (of that name), so a
// role with only `patch` lets the agent update objects and never make them. Here the
// agent's ServiceAccount, bound by the rendered deploy/agent manifests and nothing else,
// creates one of every kind the agent creates, with the agent's own KubeApi, on a real
// API server with RBAC on. Regression: deploy/agent/rbac.yaml granted only patch.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServedFamilies } from '../../agent/controllers/service-import/served-families.ts';
import { HttpKubeApi } from '../../agent/kube/kube-api.ts';
import {
  CLUSTER_PROPERTIES, CLUSTER_ROLES, CLUSTER_ROLE_BINDINGS, ENDPOINT_SLICES, EVENTS, NAMESPACES, ROLES, ROLE_BINDINGS, SERVICES,
  SERVICE_IMPORTS, TRUST_BUNDLE_CONFIG_MAP, TRUST_BUNDLE_CONFIG_MAPS,
} from '../../agent/kube/resources.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { GatewayTunnels } from '../../agent/network/gateway-tunnels.ts';
import { TunnelTablePublisher } from '../../agent/network/tunnel-table-publisher.ts';
import { TUNNEL_TABLE_CONFIG_MAP } from '../../agent/network/tunnel-table.ts';
import { systemTimers } from '../../agent/timing/clock.ts';
import { pino } from 'pino';

const repo = path.resolve(import.meta.dirname, '..', '..');

describe('deploy/agent RBAC lets the agent create what it applies', () => {
  const lab = useClusters(1);
  let api: HttpKubeApi;

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await lab.cluster(0).kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  beforeAll(async () => {
    const rendered = await kubectl(['kustomize', path.join(repo, 'deploy', 'agent')]);
    // Only the agent's identity and permissions: no Deployment, CRDs are the harness's.
    const wanted = /^kind: (Namespace|ServiceAccount|ClusterRole|ClusterRoleBinding|Role|RoleBinding)$/m;
    await kubectl(['apply', '-f', '-'], rendered.split(/^---$/m).filter((d) => wanted.test(d)).join('\n---\n'));
    api = new HttpKubeApi(await lab.cluster(0).serviceAccountKubeConfig('plexus-system', 'plexus-agent'));
    await kubectl(['create', 'namespace', 'shop']);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('the agent could not write the gateway tunnel table: it now reads and publishes plexus-gateway-tunnels in plexus-system', async () => {
    const tunnels = new GatewayTunnels({ range: { min: 20000, max: 20099 }, localAddresses: ['10.0.9.9'] });
    const publisher = new TunnelTablePublisher({ api, namespace: 'plexus-system', tunnels, timers: systemTimers, logger: pino({ level: 'silent' }), retryMs: 60_000 });
    await publisher.load();
    publisher.start();
    await publisher.flush();
    publisher.stop();
    const out = await kubectl(['get', 'configmap', TUNNEL_TABLE_CONFIG_MAP, '-n', 'plexus-system', '-o', 'jsonpath={.data.tunnels\\.json}']);
    expect(JSON.parse(out)).toEqual({ version: 1, localAddresses: ['10.0.9.9'], tunnels: [] });
    await publisher.load();
  });

  it('creates a ServiceImport, a derived Service, an EndpointSlice, ClusterProperties, the trust bundle ConfigMap and an Event', async () => {
    const meta = (name: string) => ({ name, namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'plexus' } });
    await api.apply(SERVICE_IMPORTS, { metadata: meta('cart'), spec: { type: 'ClusterSetIP', ports: [{ port: 80, protocol: 'TCP' }] } } as never);
    await api.apply(SERVICES, { metadata: meta('plx-cart'), spec: { ports: [{ port: 80, protocol: 'TCP' }] } });
    await api.apply(ENDPOINT_SLICES, {
      metadata: meta('cart-east-1'), addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'] }], ports: [{ port: 8080, protocol: 'TCP' }],
    } as never);
    await api.apply(CLUSTER_PROPERTIES, { metadata: { name: 'cluster.clusterset.k8s.io' }, spec: { value: 'east-1' } });
    await api.apply(TRUST_BUNDLE_CONFIG_MAPS, { metadata: { name: TRUST_BUNDLE_CONFIG_MAP, namespace: 'shop' }, data: { 'ca.crt': 'x' } });
    await api.apply(EVENTS, {
      metadata: { name: 'cart.e2e', namespace: 'shop' }, involvedObject: { kind: 'ServiceExport', namespace: 'shop', name: 'cart' },
      reason: 'Test', message: 'created by the agent ServiceAccount', type: 'Normal',
    } as never);
    const out = await kubectl(['get', 'serviceimports,services,endpointslices,configmaps,events', '-n', 'shop', '-o', 'name']);
    for (const name of ['serviceimport.multicluster.x-k8s.io/cart', 'service/plx-cart', 'endpointslice.discovery.k8s.io/cart-east-1', `configmap/${TRUST_BUNDLE_CONFIG_MAP}`, 'event/cart.e2e']) {
      expect(out).toContain(name);
    }
  });

  it('may ask which IP families the cluster serves (a dry-run create of a Service), which stores nothing', async () => {
    const before = await kubectl(['get', 'services', '-n', 'shop', '-o', 'name']);
    expect(await new ServedFamilies(api).families('shop')).toEqual(['IPv4']);
    expect(await kubectl(['get', 'services', '-n', 'shop', '-o', 'name'])).toBe(before);
  });

  it('applies, re-applies and prunes the RBAC baseline (apply and delete, no update) and may not update a role', async () => {
    const owned = { 'rbac.plexus.io/owned': 'true' };
    const rules = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }];
    const subjects = [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'plexus:dev' }];
    const roleRef = (kind: string) => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: 'plexus-dev-read' });
    await api.apply(NAMESPACES, { metadata: { name: 'team', labels: owned } });
    for (const pass of [1, 2]) {
      const labels = { ...owned, pass: String(pass) };
      await api.apply(CLUSTER_ROLES, { metadata: { name: 'plexus-dev-read', labels }, rules } as never);
      await api.apply(CLUSTER_ROLE_BINDINGS, { metadata: { name: 'plexus-dev-read', labels }, roleRef: roleRef('ClusterRole'), subjects } as never);
      await api.apply(ROLES, { metadata: { name: 'plexus-dev-read', namespace: 'team', labels }, rules } as never);
      await api.apply(ROLE_BINDINGS, { metadata: { name: 'plexus-dev-read', namespace: 'team', labels }, roleRef: roleRef('Role'), subjects } as never);
    }
    expect(await kubectl(['get', 'clusterrole/plexus-dev-read', 'clusterrolebinding/plexus-dev-read', '-o', 'jsonpath={.items[*].metadata.labels.pass}'])).toBe('2 2');
    expect(await kubectl(['get', 'role/plexus-dev-read', 'rolebinding/plexus-dev-read', '-n', 'team', '-o', 'jsonpath={.items[*].metadata.labels.pass}'])).toBe('2 2');
    expect(await api.delete(ROLE_BINDINGS, { namespace: 'team', name: 'plexus-dev-read' })).toBe(true);
    expect(await api.delete(CLUSTER_ROLE_BINDINGS, { name: 'plexus-dev-read' })).toBe(true);
    const asAgent = ['--as', 'system:serviceaccount:plexus-system:plexus-agent'];
    for (const resource of ['clusterroles', 'clusterrolebindings', 'roles', 'rolebindings']) {
      const r = await lab.cluster(0).kubectl(['auth', 'can-i', 'update', resource, ...asAgent]);
      expect(`${resource}: ${r.stdout.trim()}`).toBe(`${resource}: no`);
    }
  });

  it('may not create a ConfigMap of any other name', async () => {
    await expect(api.apply(TRUST_BUNDLE_CONFIG_MAPS, { metadata: { name: 'something-else', namespace: 'shop' }, data: {} })).rejects.toMatchObject({ status: 403 });
  });
});
