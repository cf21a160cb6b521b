import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExportSpecInput, ExportWriteResponse, MergedService } from '../../../broker/api/catalog.ts';
import type { ServiceExport } from '../../../crds/types.ts';
import { AgentError } from '../../errors.ts';
import type { Condition } from '../../kube/conditions.ts';
import { TerminalError } from '../../kube/controller.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import { AgentMetrics } from '../../metrics/agent-metrics.ts';
import { ServiceExportReconciler, type ExportPublisher, type MergedServiceSource } from './reconciler.ts';

const ctx = { log: pino({ level: 'silent' }) };
const KEY = 'shop/cart';

class Store<T extends { metadata?: { namespace?: string; name?: string } }> {
  readonly m = new Map<string, T>();
  get(ns: string | undefined, name: string) { return this.m.get(`${ns}/${name}`); }
  put(o: T) { this.m.set(`${o.metadata?.namespace}/${o.metadata?.name}`, o); }
  del(ns: string, name: string) { this.m.delete(`${ns}/${name}`); }
}

class FakeBroker implements ExportPublisher {
  puts: ExportSpecInput[] = [];
  deletes: string[] = [];
  fail: AgentError | undefined;
  conflicts: MergedService['members'][number]['conflicts'] = [];
  async putExport(spec: ExportSpecInput): Promise<ExportWriteResponse> {
    if (this.fail) throw this.fail;
    this.puts.push(spec);
    return { revision: this.puts.length, service: merged(this.conflicts) };
  }
  async deleteExport(ns: string, name: string): Promise<ExportWriteResponse> {
    if (this.fail) throw this.fail;
    this.deletes.push(`${ns}/${name}`);
    return { revision: 0, service: null };
  }
  async syncExports() { return {}; }
}

function merged(conflicts: MergedService['members'][number]['conflicts'], excluded = false): MergedService {
  return {
    namespace: 'shop', name: 'cart', type: 'ClusterSetIP', ports: [], sessionAffinity: 'None', exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [], 
    members: [
      { cluster: 'west', createdAt: '2025-01-01T00:00:00Z', conflicts: [], excluded: false },
      { cluster: 'east', createdAt: '2026-01-01T00:00:00Z', conflicts, excluded },
    ],
  };
}

class MemorySource implements MergedServiceSource {
  readonly m = new Map<string, MergedService>();
  get(ns: string, name: string) { return this.m.get(`${ns}/${name}`); }
  onChange() {}
}

let exports: Store<ServiceExport>;
let services: Store<V1Service>;
let slices: V1EndpointSlice[];
let broker: FakeBroker;
let source: MemorySource;
let writes: { conditions: Condition[] }[];
let r: ServiceExportReconciler;

const se = (): ServiceExport => ({ metadata: { namespace: 'shop', name: 'cart', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z' as never } });
const service = (spec: V1Service['spec'] = { clusterIP: '10.0.0.1', ports: [{ port: 80, protocol: 'TCP' }] }): V1Service => ({ metadata: { namespace: 'shop', name: 'cart' }, spec });

/** The status the fake writer last wrote becomes the cached status (as a watch event would). */
function lastConditions(): Record<string, Condition> {
  const last = writes.at(-1)?.conditions ?? [];
  return Object.fromEntries(last.map((c) => [c.type, c]));
}

beforeEach(() => {
  exports = new Store();
  services = new Store();
  slices = [];
  broker = new FakeBroker();
  source = new MemorySource();
  writes = [];
  const timers = new FakeTimers();
  r = new ServiceExportReconciler({
    clusterId: 'east', broker, mergedServices: source, clock: timers,
    caches: { serviceExports: exports, services, endpointSlices: { byIndex: () => slices } },
    status: {
      apply: async (_r, current, status) => {
        writes.push(status as never);
        exports.put({ ...(current as ServiceExport), status: status as never });
        return true;
      },
    },
  });
});

describe('ServiceExportReconciler', () => {
  it('marks an export without a Service Valid=False NoService and publishes nothing', async () => {
    exports.put(se());
    await r.reconcile(KEY, ctx);
    expect(lastConditions().Valid).toMatchObject({ status: 'False', reason: 'NoService', observedGeneration: 3 });
    expect(lastConditions().Ready).toMatchObject({ status: 'False', reason: 'Pending' });
    expect(broker.puts).toEqual([]);
    expect(broker.deletes).toEqual([]);
  });

  it('refuses an ExternalName Service with InvalidServiceType', async () => {
    exports.put(se());
    services.put(service({ type: 'ExternalName', externalName: 'db.example.com' }));
    await r.reconcile(KEY, ctx);
    expect(lastConditions().Valid).toMatchObject({ status: 'False', reason: 'InvalidServiceType' });
    expect(broker.puts).toEqual([]);
  });

  it('publishes a valid export with its ready endpoints and reports Exported and NoConflicts', async () => {
    exports.put(se());
    services.put(service());
    slices = [{ metadata: { namespace: 'shop', name: 'cart-1' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'] }, { addresses: ['10.1.0.2'], conditions: { ready: false } }] }];
    await r.reconcile(KEY, ctx);
    expect(broker.puts).toHaveLength(1);
    expect(broker.puts[0]).toMatchObject({ cluster: 'east', namespace: 'shop', name: 'cart', type: 'ClusterSetIP', endpoints: [{ addresses: ['10.1.0.1'] }] });
    expect(lastConditions()).toMatchObject({
      Valid: { status: 'True', reason: 'Valid' }, Ready: { status: 'True', reason: 'Exported' }, Conflict: { status: 'False', reason: 'NoConflicts' },
    });
  });

  it('writes nothing, to the broker or the status, when nothing changed', async () => {
    exports.put(se());
    services.put(service());
    await r.reconcile(KEY, ctx);
    const before = { puts: broker.puts.length, writes: writes.length };
    await r.reconcile(KEY, ctx);
    expect({ puts: broker.puts.length, writes: writes.length }).toEqual(before);
  });

  it('republishes on endpoint churn', async () => {
    exports.put(se());
    services.put(service());
    await r.reconcile(KEY, ctx);
    slices = [{ metadata: { namespace: 'shop', name: 'cart-1' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.7'] }] }];
    await r.reconcile(KEY, ctx);
    expect(broker.puts.map((p) => p.endpoints)).toEqual([[], [{ addresses: ['10.1.0.7'] }]]);
  });

  it('reports Ready=Unknown Pending and requeues (throws) while the broker is unreachable', async () => {
    exports.put(se());
    services.put(service());
    broker.fail = new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'connect ECONNREFUSED');
    await expect(r.reconcile(KEY, ctx)).rejects.toMatchObject({ code: 'PLX_AGENT_BROKER_UNREACHABLE' });
    expect(lastConditions().Ready).toMatchObject({ status: 'Unknown', reason: 'Pending' });
    broker.fail = undefined;
    await r.reconcile(KEY, ctx);
    expect(lastConditions().Ready).toMatchObject({ status: 'True', reason: 'Exported' });
  });

  it('reports Ready=False Failed with the broker code when the broker refuses, and retries later', async () => {
    exports.put(se());
    services.put(service());
    broker.fail = new AgentError('PLX_AGENT_BROKER_REJECTED', 'broker refused', { status: 403, brokerCode: 'PLX_BROKER_FORBIDDEN' });
    const result = await r.reconcile(KEY, ctx);
    expect(result).toEqual({ requeueAfterMs: 300_000 });
    expect(lastConditions().Ready).toMatchObject({ status: 'False', reason: 'Failed' });
    expect(lastConditions().Ready!.message).toContain('PLX_BROKER_FORBIDDEN');
  });

  it('raises Conflict from the write response, and again when other clusters change the merged service', async () => {
    exports.put(se());
    services.put(service());
    broker.conflicts = ['PortConflict', 'SessionAffinityConflict'];
    await r.reconcile(KEY, ctx);
    expect(lastConditions().Conflict).toMatchObject({ status: 'True', reason: 'PortConflict,SessionAffinityConflict' });
    source.m.set(KEY, merged([]));
    await r.reconcile(KEY, ctx);
    expect(lastConditions().Conflict).toMatchObject({ status: 'False', reason: 'NoConflicts' });
    expect(broker.puts).toHaveLength(1);
    source.m.set(KEY, merged(['TypeConflict'], true));
    await r.reconcile(KEY, ctx);
    expect(lastConditions().Conflict).toMatchObject({ status: 'True', reason: 'TypeConflict' });
    expect(lastConditions().Conflict!.message).toContain('left out');
  });

  it('withdraws the export when the ServiceExport or the Service goes away, and only then', async () => {
    exports.put(se());
    services.put(service());
    await r.reconcile(KEY, ctx);
    services.del('shop', 'cart');
    await r.reconcile(KEY, ctx);
    expect(broker.deletes).toEqual([KEY]);
    expect(lastConditions().Valid).toMatchObject({ reason: 'NoService' });
    expect(lastConditions().Conflict).toBeUndefined();
    services.put(service());
    await r.reconcile(KEY, ctx);
    exports.del('shop', 'cart');
    await r.reconcile(KEY, ctx);
    await r.reconcile(KEY, ctx);
    expect(broker.deletes).toEqual([KEY, KEY]);
  });

  it('withdraws exports known from the start-up sync', async () => {
    r.markPublished(['shop/gone']);
    await r.reconcile('shop/gone', ctx);
    expect(broker.deletes).toEqual(['shop/gone']);
  });

  it('does not crash on malformed keys or input the broker would refuse', async () => {
    await expect(r.reconcile('a/b/c', ctx)).rejects.toBeInstanceOf(TerminalError);
    exports.put(se());
    services.put(service());
    slices = [{ metadata: { namespace: 'shop', name: 'x' }, addressType: 'IPv4', endpoints: [{ addresses: ['10.1.0.1'], hostname: 'Bad_Host' }] }];
    await expect(r.reconcile(KEY, ctx)).rejects.toBeInstanceOf(TerminalError);
    expect(lastConditions().Ready).toMatchObject({ status: 'False', reason: 'Failed' });
    expect(broker.puts).toEqual([]);
  });

  it('keeps the exports and conflicts gauges level with what it published and what is in conflict', async () => {
    const metrics = new AgentMetrics({ defaultMetrics: false });
    const timers = new FakeTimers();
    const m = new ServiceExportReconciler({
      clusterId: 'east', broker, mergedServices: source, clock: timers, metrics,
      caches: { serviceExports: exports, services, endpointSlices: { byIndex: () => slices } },
      status: { apply: async (_r, current, status) => { exports.put({ ...(current as ServiceExport), status: status as never }); return true; } },
    });
    const gauge = async (g: 'exports' | 'conflicts') => (await metrics[g].get()).values[0]?.value;
    exports.put(se());
    services.put(service());
    broker.conflicts = ['PortConflict'];
    await m.reconcile(KEY, ctx);
    expect(await gauge('exports')).toBe(1);
    expect(await gauge('conflicts')).toBe(1);
    exports.del('shop', 'cart');
    await m.reconcile(KEY, ctx);
    expect(await gauge('exports')).toBe(0);
    expect(await gauge('conflicts')).toBe(0);
  });
});

describe('ServiceExportReconciler across networks', () => {
  const withNetworks = (others: string[]) => new ServiceExportReconciler({
    clusterId: 'east', broker, mergedServices: source, clock: new FakeTimers(), networks: { otherNetworks: () => others },
    caches: { serviceExports: exports, services, endpointSlices: { byIndex: () => slices } },
    status: { apply: async (_r, current, status) => { writes.push(status as never); exports.put({ ...(current as ServiceExport), status: status as never }); return true; } },
  });
  const mixed = service({ clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] });

  it('a UDP port in a fleet of several networks gets CrossNetwork=False ProtocolNotTunneled, and the export is still published', async () => {
    exports.put(se());
    services.put(mixed);
    await withNetworks(['net-b']).reconcile(KEY, ctx);
    expect(broker.puts).toHaveLength(1);
    expect(lastConditions().Ready).toMatchObject({ status: 'True', reason: 'Exported' });
    expect(lastConditions().CrossNetwork).toMatchObject({ status: 'False', reason: 'ProtocolNotTunneled', observedGeneration: 3 });
    expect(lastConditions().CrossNetwork!.message).toContain('dns 53/UDP');
    expect(lastConditions().CrossNetwork!.message).toContain('net-b');
  });

  it('TCP-only exports say Tunneled; on one network there is no CrossNetwork condition at all', async () => {
    exports.put(se());
    services.put(service());
    await withNetworks(['net-b']).reconcile(KEY, ctx);
    expect(lastConditions().CrossNetwork).toMatchObject({ status: 'True', reason: 'Tunneled' });
    services.put(mixed);
    await withNetworks([]).reconcile(KEY, ctx);
    expect(lastConditions().CrossNetwork).toBeUndefined();
  });
});
