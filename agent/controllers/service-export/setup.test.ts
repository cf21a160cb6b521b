import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { ExportSpecInput, ExportSyncRequest, ExportWriteResponse } from '../../../broker/api/catalog.ts';
import type { ServiceExport } from '../../../crds/types.ts';
import { AgentError } from '../../errors.ts';
import { fakeListWatches } from '../../../test/support/fake-list-watch.ts';
import { FakeTimers } from '../../../test/support/fake-timers.ts';
import { InformerRegistry } from '../../kube/informer-registry.ts';
import { ENDPOINT_SLICES, SERVICES, SERVICE_EXPORTS } from '../../kube/resources.ts';
import type { ExportPublisher } from './reconciler.ts';
import { setupServiceExportController } from './setup.ts';

const logger = pino({ level: 'silent' });
const flush = () => new Promise((r) => setImmediate(r));

class RecordingBroker implements ExportPublisher {
  calls: string[] = [];
  syncs: ExportSyncRequest[] = [];
  down = 0;
  async putExport(spec: ExportSpecInput): Promise<ExportWriteResponse> {
    this.calls.push(`put ${spec.namespace}/${spec.name} ${spec.endpoints.map((e) => e.addresses[0]).join(',')}`);
    return { revision: 1, service: null };
  }
  async deleteExport(ns: string, name: string): Promise<ExportWriteResponse> {
    this.calls.push(`delete ${ns}/${name}`);
    return { revision: 1, service: null };
  }
  async syncExports(body: ExportSyncRequest) {
    if (this.down > 0) {
      this.down--;
      throw new AgentError('PLX_AGENT_BROKER_UNREACHABLE', 'ECONNREFUSED');
    }
    this.calls.push(`sync ${body.exports.map((e) => e.name).join(',')}`);
    this.syncs.push(body);
    return {};
  }
}

const se = (name: string): ServiceExport => ({ metadata: { namespace: 'ns', name, creationTimestamp: '2026-01-01T00:00:00Z' as never, resourceVersion: '1' } });
const svc = (name: string): V1Service => ({ metadata: { namespace: 'ns', name, resourceVersion: '1' }, spec: { clusterIP: '10.0.0.1', ports: [{ port: 80 }] } });
const slice = (name: string, owner: string, ip: string): V1EndpointSlice => ({
  metadata: { namespace: 'ns', name, labels: { 'kubernetes.io/service-name': owner } }, addressType: 'IPv4', endpoints: [{ addresses: [ip] }],
});

function setup(brokerDownFor = 0) {
  const timers = new FakeTimers();
  const lws = fakeListWatches();
  const informers = new InformerRegistry({ listWatch: lws.factory, logger, timers });
  const broker = new RecordingBroker();
  broker.down = brokerDownFor;
  const ctl = setupServiceExportController({
    clusterId: 'east', informers, broker, logger, clock: timers, timers,
    status: { apply: async () => true },
    mergedServices: { get: () => undefined, onChange: () => undefined },
    syncBackoff: { baseMs: 1000, maxMs: 1000, jitter: 0 },
  });
  return { ctl, broker, timers, exports: lws.of(SERVICE_EXPORTS), services: lws.of(SERVICES), slices: lws.of(ENDPOINT_SLICES) };
}

describe('setupServiceExportController', () => {
  it('syncs the valid exports once before any other broker call, retrying while the broker is down', async () => {
    const t = setup(2);
    t.exports.put(se('a'));
    t.exports.put(se('no-service'));
    t.services.put(svc('a'));
    const started = t.ctl.start();
    await flush();
    expect(t.broker.calls).toEqual([]);
    t.timers.fireNext();
    await flush();
    t.timers.fireNext();
    await started;
    await t.ctl.controller.idle();
    expect(t.broker.calls).toEqual(['sync a', 'put ns/a ']);
    await t.ctl.stop();
  });

  it('retryBrokerNow() ends the start-up sync backoff at once (an agent started during a broker outage)', async () => {
    const t = setup(1);
    t.exports.put(se('a'));
    t.services.put(svc('a'));
    const started = t.ctl.start();
    await vi.waitFor(() => expect(t.timers.pendingCount).toBe(1));
    expect(t.broker.calls).toEqual([]);
    t.ctl.retryBrokerNow();
    await started;
    // No timer was fired: the sync went out on the wake-up alone.
    expect(t.broker.calls[0]).toBe('sync a');
    await t.ctl.stop();
  });

  it('maps Service and EndpointSlice events to the export key, including a slice moving between Services', async () => {
    const t = setup();
    t.exports.put(se('a'));
    t.exports.put(se('b'));
    t.services.put(svc('a'));
    t.services.put(svc('b'));
    await t.ctl.start();
    await t.ctl.controller.idle();
    t.broker.calls = [];

    t.slices.put(slice('s1', 'a', '10.0.0.1'));
    await t.ctl.controller.idle();
    expect(t.broker.calls).toEqual(['put ns/a 10.0.0.1']);

    t.slices.put(slice('s1', 'b', '10.0.0.1'), 'update');
    await t.ctl.controller.idle();
    expect(t.broker.calls.slice(1).sort()).toEqual(['put ns/a ', 'put ns/b 10.0.0.1']);

    t.broker.calls = [];
    t.services.put(svc('unexported'));
    t.slices.put(slice('s2', 'unexported', '10.0.0.2'));
    await t.ctl.controller.idle();
    expect(t.broker.calls).toEqual([]);

    t.exports.remove(se('a'));
    await t.ctl.controller.idle();
    expect(t.broker.calls).toEqual(['delete ns/a']);
    await t.ctl.stop();
  });
});
