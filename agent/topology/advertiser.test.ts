import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClusterAdvertisementInput } from '../../broker/api/advertisement.ts';
import { FakeTimers } from '../../test/support/fake-timers.ts';
import { Advertiser, materiallyDifferent } from './advertiser.ts';

function setup() {
  const sent: ClusterAdvertisementInput[] = [];
  let atBroker: ClusterAdvertisementInput | undefined;
  let latencies: Record<string, number> = { b: 10.04 };
  let fail = false;
  const timers = new FakeTimers(0);
  const adv = new Advertiser({
    broker: {
      putAdvertisement: async (body) => {
        if (fail) throw new Error('broker down');
        sent.push(body);
        atBroker = body;
        return { ...body, latencies: body.latencies ?? {}, updatedAt: '2026-01-01T00:00:00Z', revision: sent.length };
      },
    },
    local: { cluster: 'a', zone: 'z1', region: 'r1' }, probeUrl: 'https://10.0.0.1:7444', proxyUrl: () => 'https://10.0.0.1:8443',
    current: () => atBroker, latencies: () => latencies, timers, intervalMs: 1000, logger: pino({ level: 'silent' }),
  });
  return {
    adv, sent, timers,
    setLatencies: (l: Record<string, number>) => { latencies = l; },
    overwrite: (a: ClusterAdvertisementInput) => { atBroker = a; },
    setFail: (f: boolean) => { fail = f; },
  };
}

describe('Advertiser', () => {
  it('publishes zone, region, probe and proxy URLs and RTTs to 0.1 ms, then nothing while steady', async () => {
    const { adv, sent, setLatencies } = setup();
    expect(await adv.publish()).toBe(true);
    expect(sent[0]).toEqual({ cluster: 'a', zone: 'z1', region: 'r1', probeUrl: 'https://10.0.0.1:7444', proxyUrl: 'https://10.0.0.1:8443', latencies: { b: 10 } });
    setLatencies({ b: 10.9 });
    expect(await adv.publish()).toBe(false);
    setLatencies({ b: 14 });
    expect(await adv.publish()).toBe(true);
    setLatencies({ b: 14, c: 1 });
    expect(await adv.publish()).toBe(true);
    expect(sent).toHaveLength(3);
  });

  it('repairs a whole-record overwrite by someone else (level-based)', async () => {
    const { adv, sent, overwrite } = setup();
    await adv.publish();
    overwrite({ cluster: 'a', proxyUrl: 'https://10.0.0.1:8443', zone: 'z1', region: 'r1' });
    expect(await adv.publish()).toBe(true);
    expect(sent[1]?.probeUrl).toBe('https://10.0.0.1:7444');
  });

  it('retries on the next interval after a failure', async () => {
    const { adv, sent, timers, setFail } = setup();
    setFail(true);
    adv.start();
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(0);
    setFail(false);
    timers.advance(1000);
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    adv.stop();
  });
});

describe('materiallyDifferent', () => {
  const base = { cluster: 'a', latencies: { b: 10 } };
  it.each([
    [{ ...base, latencies: { b: 10.5 } }, false],
    [{ ...base, latencies: { b: 13 } }, true],
    [{ ...base, latencies: {} }, true],
    [{ ...base, latencies: { c: 10 } }, true],
    [{ ...base, zone: 'z2' }, true],
  ])('%j → %s', (next, expected) => {
    expect(materiallyDifferent(base, next)).toBe(expected);
  });
});
