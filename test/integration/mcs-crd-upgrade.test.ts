// Upgrading an existing install in place: a real kube-apiserver starts with the CRDs Plexus
// shipped before v1beta1 (test/integration/fixtures/crds-v1alpha1: v1alpha1 only, stored),
// objects are written as v1alpha1 (a ServiceExport, and ServiceImports an older agent
// left), then today's crds/ are applied over them (v1beta1 stored, v1alpha1 still served).
// The objects must still be served, under both versions, and a real agent started after
// the upgrade must reconcile them through v1beta1: export the ServiceExport and write its
// status, fill the new ServiceImport fields, and delete the import whose service is gone.
import path from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCS_GROUP, MCS_LEGACY_VERSION, MCS_VERSION } from '../../crds/types.ts';
import { installCrds } from '../harness/install-crds.ts';
import { useClusters } from '../harness/use-clusters.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startTestAgent, type TestAgent } from './support/agent-fixture.ts';
import { startTestBroker, type TestBroker } from './support/broker-fixture.ts';

const OLD_CRDS = path.join(import.meta.dirname, 'fixtures', 'crds-v1alpha1');
const NS = 'shop';
const PLEXUS_LABELS = (name: string) => ({ 'app.kubernetes.io/managed-by': 'plexus', 'multicluster.kubernetes.io/service-name': name });

interface Condition { type: string; status: string; reason: string }
interface McsObject { apiVersion: string; metadata: { name: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; status?: { conditions?: Condition[] } }

describe('MCS CRD upgrade in place: v1alpha1-only install → v1beta1 stored, v1alpha1 served', () => {
  const lab = useClusters(1, { names: ['east'], crdDir: OLD_CRDS });
  let broker: TestBroker | undefined;
  let agent: TestAgent | undefined;
  const custom = () => lab.cluster('east').client(CustomObjectsApi);
  const get = async (version: string, plural: string, name: string): Promise<McsObject | undefined> => {
    try {
      return await custom().getNamespacedCustomObject({ group: MCS_GROUP, version, namespace: NS, plural, name }) as McsObject;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  };
  const create = (version: string, plural: string, body: Record<string, unknown>) =>
    custom().createNamespacedCustomObject({ group: MCS_GROUP, version, namespace: NS, plural, body: { apiVersion: `${MCS_GROUP}/${version}`, ...body } });

  beforeAll(async () => {
    const core = lab.cluster('east').client(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: 'cart' }, spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } } });
  });

  afterAll(async () => {
    await agent?.stop();
    await broker?.stop();
  });

  it('keeps every object written as v1alpha1, serves it as v1beta1, and a new agent reconciles it', async () => {
    // Before: only v1alpha1 exists, as on an install of the previous release.
    const kubectl = (args: string[]) => lab.cluster('east').kubectl(args);
    expect((await kubectl(['get', '--raw', `/apis/${MCS_GROUP}/${MCS_VERSION}`])).code).not.toBe(0);
    await create(MCS_LEGACY_VERSION, 'serviceexports', { kind: 'ServiceExport', metadata: { name: 'cart' } });
    // What the previous agent left: an import of cart (without the v1beta1 fields) and one of a service no longer exported.
    for (const name of ['cart', 'gone']) {
      await create(MCS_LEGACY_VERSION, 'serviceimports', {
        kind: 'ServiceImport', metadata: { name, labels: PLEXUS_LABELS(name) },
        spec: { type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }] },
      });
    }

    await installCrds(lab.cluster('east').kubeConfig);

    const ext = lab.cluster('east').client(ApiextensionsV1Api);
    for (const plural of ['serviceexports', 'serviceimports']) {
      const crd = await ext.readCustomResourceDefinition({ name: `${plural}.${MCS_GROUP}` });
      expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).toEqual([[MCS_VERSION, true, true], [MCS_LEGACY_VERSION, true, false]]);
      expect(crd.status?.storedVersions).toContain(MCS_LEGACY_VERSION);
    }
    // The objects written before are served under both versions (no conversion: same schema).
    expect(await get(MCS_VERSION, 'serviceexports', 'cart')).toMatchObject({ apiVersion: `${MCS_GROUP}/${MCS_VERSION}`, metadata: { name: 'cart' } });
    expect(await get(MCS_LEGACY_VERSION, 'serviceexports', 'cart')).toMatchObject({ apiVersion: `${MCS_GROUP}/${MCS_LEGACY_VERSION}` });
    expect((await get(MCS_VERSION, 'serviceimports', 'gone'))?.metadata.labels).toMatchObject(PLEXUS_LABELS('gone'));
    const listed = await kubectl(['get', 'serviceimports', '-n', NS, '-o', 'name']);
    expect(listed.stdout.split('\n').filter(Boolean).sort()).toEqual([`serviceimport.${MCS_GROUP}/cart`, `serviceimport.${MCS_GROUP}/gone`]);

    // A new agent reads and writes v1beta1.
    broker = await startTestBroker({ config: { watchBookmarkIntervalMs: 1_000 } });
    agent = await startTestAgent(broker, lab.cluster('east'), 'east');
    const exported = await waitFor(async () => {
      const se = await get(MCS_VERSION, 'serviceexports', 'cart');
      return se?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? se : undefined;
    }, { what: 'the pre-upgrade ServiceExport exported' });
    expect(exported.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'Exported' });
    const imported = await waitFor(async () => {
      const si = await get(MCS_VERSION, 'serviceimports', 'cart');
      return si?.spec?.ipFamilies && si.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? si : undefined;
    }, { what: 'the pre-upgrade ServiceImport reconciled with the v1beta1 fields' });
    expect(imported.spec).toMatchObject({ type: 'ClusterSetIP', ipFamilies: ['IPv4'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] });
    expect(imported.spec!.ips).toHaveLength(1);
    await waitFor(async () => (await get(MCS_VERSION, 'serviceimports', 'gone')) === undefined, { what: 'the import of a service no longer exported deleted' });
    // Still readable as v1alpha1 after the agent rewrote it (stored as v1beta1 now).
    expect((await get(MCS_LEGACY_VERSION, 'serviceimports', 'cart'))?.spec).toMatchObject({ ipFamilies: ['IPv4'] });
    const crd = await ext.readCustomResourceDefinition({ name: `serviceimports.${MCS_GROUP}` });
    expect(crd.status?.storedVersions).toContain(MCS_VERSION);
  });
});
