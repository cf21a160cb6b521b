import { describe, expect, it } from 'vitest';
import { clusterAdvertisementInputSchema } from '../api/advertisement.ts';
import { advertisementRecord, sameAdvertisement } from './advertisement-record.ts';

describe('advertisement record: network and gateway', () => {
  const input = (o: object) => clusterAdvertisementInputSchema.parse({ cluster: 'east', ...o });

  it('keeps network and gateway in the stored record', () => {
    const r = advertisementRecord(input({ network: 'b', gateway: '203.0.113.5:15443' }), new Date(0), 7);
    expect(r).toMatchObject({ cluster: 'east', network: 'b', gateway: '203.0.113.5:15443', revision: 7 });
  });

  it('a withdrawn or moved gateway is a change (an event), the same one is not', () => {
    const a = input({ network: 'b', gateway: '203.0.113.5:15443' });
    expect(sameAdvertisement(a, input({ network: 'b', gateway: '203.0.113.5:15443' }))).toBe(true);
    expect(sameAdvertisement(a, input({ network: 'b' }))).toBe(false);
    expect(sameAdvertisement(a, input({ network: 'b', gateway: '203.0.113.6:15443' }))).toBe(false);
    expect(sameAdvertisement(a, input({ network: 'c', gateway: '203.0.113.5:15443' }))).toBe(false);
  });
});
