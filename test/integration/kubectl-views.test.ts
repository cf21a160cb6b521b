// What a kubectl user sees of the MCS objects, with the real kubectl of the pinned release
// against a real API server with the real CRDs: printer columns of serviceexports and
// serviceimports, OpenAPI validation refusing bad objects, and the Events the agent's
// status writer (withExportEvents) records on a ServiceExport when its conditions change.
import { CoreV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withExportEvents } from '../../agent/controllers/service-export/export-events.ts';
import { kubeAccess, type KubeAccess } from '../../agent/kube/kube-access.ts';
import { SERVICE_EXPORTS, SERVICE_IMPORTS } from '../../agent/kube/resources.ts';
import type { ServiceExport, ServiceImport } from '../../crds/types.ts';
import { useClusters } from '../harness/use-clusters.ts';

const NS = 'kubectl-views';
const t = '2030-01-01T00:00:00Z';
// Raw JSON as the API server stores it (the client-node type wants a Date here).
const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: t as unknown as Date });

describe('kubectl views of ServiceExport and ServiceImport', () => {
  const lab = useClusters(1);
  let kube: KubeAccess;
  const kubectl = async (...args: string[]) => {
    const r = await lab.cluster(0).kubectl(args);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    kube = kubeAccess(lab.cluster(0).kubeConfig, { logger: pino({ level: 'silent' }) });
    await lab.cluster(0).client(CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  });
  afterAll(async () => {
    await kube?.informers.stop();
  });

  it('serviceexports show Valid, Ready and Conflict; each condition change is an Event, a repeat is not', async () => {
    await kube.api.apply(SERVICE_EXPORTS, { metadata: { namespace: NS, name: 'cart' } } as ServiceExport);
    const status = withExportEvents(kube.status, { api: kube.api, clock: { now: () => new Date(t) }, clusterId: 'east', logger: pino({ level: 'silent' }) });
    const read = async () => (await kube.api.get(SERVICE_EXPORTS, { namespace: NS, name: 'cart' }))!;
    const exported = [cond('Valid', 'True', 'Valid', 'the Service can be exported'), cond('Ready', 'True', 'Exported', 'published'), cond('Conflict', 'False', 'NoConflicts', 'merged cleanly')];
    expect(await status.apply(SERVICE_EXPORTS, await read(), { conditions: exported })).toBe(true);
    const conflicted = [exported[0]!, exported[1]!, cond('Conflict', 'True', 'TypeConflict', 'type differs from the oldest export (cluster west)')];
    expect(await status.apply(SERVICE_EXPORTS, await read(), { conditions: conflicted })).toBe(true);
    expect(await status.apply(SERVICE_EXPORTS, await read(), { conditions: conflicted })).toBe(false);

    const table = (await kubectl('get', 'serviceexports', '-n', NS)).trim().split('\n');
    expect(table[0]).toMatch(/^NAME\s+VALID\s+READY\s+CONFLICT\s+AGE$/);
    expect(table[1]).toMatch(/^cart\s+True\s+True\s+True\s+\S+$/);

    const events = JSON.parse(await kubectl('get', 'events', '-n', NS, '--field-selector', 'involvedObject.kind=ServiceExport,involvedObject.name=cart', '-o', 'json')) as {
      items: { type: string; reason: string; message: string; reportingInstance?: string }[];
    };
    expect(events.items.map((e) => [e.type, e.reason]).sort()).toEqual([
      ['Normal', 'Exported'], ['Normal', 'NoConflicts'], ['Normal', 'Valid'], ['Warning', 'TypeConflict'],
    ]);
    expect(events.items.find((e) => e.reason === 'TypeConflict')).toMatchObject({ message: 'Conflict=True: type differs from the oldest export (cluster west)', reportingInstance: 'east' });
    const described = await kubectl('describe', 'serviceexport', 'cart', '-n', NS);
    expect(described).toMatch(/Warning\s+TypeConflict\s+.*Conflict=True: type differs from the oldest export/);
  });

  it('serviceimports show type and IPs; the exporting clusters are in status', async () => {
    const si = { metadata: { namespace: NS, name: 'cart' }, spec: { type: 'ClusterSetIP', ips: ['10.96.7.7'], ports: [{ name: 'http', protocol: 'TCP', port: 80 }] } } as ServiceImport;
    const live = await kube.api.apply(SERVICE_IMPORTS, si);
    await kube.status.apply(SERVICE_IMPORTS, live, { clusters: [{ cluster: 'east' }, { cluster: 'west' }] });
    const table = (await kubectl('get', 'serviceimports', '-n', NS)).trim().split('\n');
    // No exporting-clusters column: the API server's table printer shows only the first
    // match of a [*] path, which would hide every exporter but one; status.clusters has them all.
    expect(table[0]).toMatch(/^NAME\s+TYPE\s+IP\s+AGE$/);
    expect(table[1]).toMatch(/^cart\s+ClusterSetIP\s+\["10\.96\.7\.7"\]\s+\S+$/);
    const clusters = await kubectl('get', 'serviceimport', 'cart', '-n', NS, '-o', 'jsonpath={.status.clusters[*].cluster}');
    expect(clusters).toBe('east west');
  });

  it('the CRDs\' OpenAPI validation refuses a malformed object, and kubectl explain documents the fields', async () => {
    const bad = JSON.stringify({ apiVersion: 'multicluster.x-k8s.io/v1alpha1', kind: 'ServiceImport', metadata: { name: 'bad', namespace: NS }, spec: { type: 'Bogus', ports: [] } });
    const r = await lab.cluster(0).kubectl(['apply', '-f', '-'], { input: bad });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.type: Unsupported value: "Bogus"/);
    expect(await kubectl('explain', 'serviceexports.status.conditions')).toMatch(/lastTransitionTime/);
  });
});
