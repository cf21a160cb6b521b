import { describe, expect, it } from 'vitest';
import type { LeaseReport } from '../../../broker/api/fleet.ts';
import type { InformerRegistry, KubeObject } from '../../kube/index.ts';
import { LeaseReporter, reportingLeaseClient } from './lease-report.ts';

const owned = { 'app.kubernetes.io/managed-by': 'plexus' };

/** An informer registry holding one ServiceImport cache. */
function registry(objects: KubeObject[], synced: boolean) {
  const declared: string[] = [];
  const informers = {
    declare: (component: string) => {
      declared.push(component);
      return { component, hasSynced: () => synced, waitForSync: async () => {}, get: () => ({ list: () => objects }) };
    },
  } as unknown as InformerRegistry;
  return { informers, declared };
}

describe('LeaseReporter', () => {
  it('reports the version and the Plexus-owned ServiceImports, sorted', () => {
    const { informers, declared } = registry([
      { metadata: { namespace: 'shop', name: 'web', labels: owned } },
      { metadata: { namespace: 'bank', name: 'ledger', labels: owned } },
      { metadata: { namespace: 'shop', name: 'cart', labels: owned } },
      { metadata: { namespace: 'shop', name: 'handmade' } },
    ], true);
    const r = new LeaseReporter({ informers, agentVersion: '1.2.3' });
    expect(declared).toEqual(['lease-report']);
    expect(r.report()).toEqual({
      agentVersion: '1.2.3',
      imports: [{ namespace: 'bank', name: 'ledger' }, { namespace: 'shop', name: 'cart' }, { namespace: 'shop', name: 'web' }],
    });
  });

  it('leaves imports out until the cache has synced, so the broker never sees a false zero', () => {
    const { informers } = registry([{ metadata: { namespace: 'shop', name: 'web', labels: owned } }], false);
    expect(new LeaseReporter({ informers, agentVersion: '1.2.3' }).report()).toEqual({ agentVersion: '1.2.3' });
  });

  it('sends the report with every renewal, and passes the heartbeat\'s signal on', async () => {
    const sent: (LeaseReport | undefined)[] = [];
    const signals: (AbortSignal | undefined)[] = [];
    const client = {
      renewLease: async (o: { report?: LeaseReport; signal?: AbortSignal }) => {
        sent.push(o.report);
        signals.push(o.signal);
        return { leaseDurationSeconds: 30, renewedAt: '2030-01-01T00:00:00Z' };
      },
    };
    let version = 'a';
    const lease = reportingLeaseClient(client, { report: () => ({ agentVersion: version }) });
    await lease.renewLease();
    version = 'b';
    const signal = new AbortController().signal;
    await lease.renewLease({ signal });
    expect(sent).toEqual([{ agentVersion: 'a' }, { agentVersion: 'b' }]);
    expect(signals).toEqual([undefined, signal]);
  });
});
