import { describe, expect, it } from 'vitest';
import { AgentError } from '../../errors.ts';
import { SERVICES } from '../../kube/index.ts';
import { FakeKube } from '../../../test/support/fake-kube.ts';
import { ServedFamilies } from './served-families.ts';

class StepClock {
  ms = 0;
  now(): Date { return new Date(this.ms); }
}

describe('ServedFamilies', () => {
  it('asks the API server with a dry-run create of a headless Service with a selector, PreferDualStack', async () => {
    const kube = new FakeKube();
    kube.servedFamilies = ['IPv4', 'IPv6'];
    const seen: unknown[] = [];
    const dryRunCreate = kube.dryRunCreate.bind(kube);
    kube.dryRunCreate = async (r, obj) => { seen.push(obj); return dryRunCreate(r, obj); };
    expect(await new ServedFamilies(kube).families('shop')).toEqual(['IPv4', 'IPv6']);
    expect(seen).toEqual([expect.objectContaining({
      metadata: expect.objectContaining({ namespace: 'shop', generateName: expect.any(String) }),
      spec: expect.objectContaining({ clusterIP: 'None', ipFamilyPolicy: 'PreferDualStack', selector: expect.any(Object) }),
    })]);
    expect(kube.objects(SERVICES)).toEqual([]);
  });

  it('keeps the answer for its TTL, then asks again', async () => {
    const kube = new FakeKube();
    const clock = new StepClock();
    const served = new ServedFamilies(kube, { clock, ttlMs: 1_000 });
    expect(await served.families('shop')).toEqual(['IPv4']);
    kube.servedFamilies = ['IPv4', 'IPv6'];
    clock.ms = 999;
    expect(await served.families('other')).toEqual(['IPv4']);
    clock.ms = 1_000;
    expect(await served.families('shop')).toEqual(['IPv4', 'IPv6']);
    expect(kube.writes.filter((w) => w.startsWith('dry-run create'))).toHaveLength(2);
  });

  it('throws what the API server answered (the reconciler then assumes every family) and keeps no failure', async () => {
    const kube = new FakeKube();
    kube.dryRunFailure = new AgentError('PLX_AGENT_KUBE', 'admission webhook does not support dry run', { status: 400 });
    const served = new ServedFamilies(kube);
    await expect(served.families('shop')).rejects.toMatchObject({ code: 'PLX_AGENT_KUBE' });
    kube.dryRunFailure = undefined;
    expect(await served.families('shop')).toEqual(['IPv4']);
  });
});
