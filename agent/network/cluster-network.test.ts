import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClusterProperty } from '../../crds/types.ts';
import { PROPERTY_NETWORK, clusterNetwork } from './cluster-network.ts';

const silent = pino({ level: 'silent' });
const api = (props: Record<string, string>, fail = false) => ({
  get: async (_r: unknown, ref: { name: string }) => {
    if (fail) throw new Error('apiserver down');
    const value = props[ref.name];
    return (value === undefined ? null : { spec: { value } }) as ClusterProperty | null;
  },
}) as Parameters<typeof clusterNetwork>[0];

describe('clusterNetwork', () => {
  it('takes --network over the ClusterProperty, and the property over the default', async () => {
    expect(await clusterNetwork(api({ [PROPERTY_NETWORK]: 'prop-net' }), 'flag-net', silent)).toBe('flag-net');
    expect(await clusterNetwork(api({ [PROPERTY_NETWORK]: 'prop-net' }), undefined, silent)).toBe('prop-net');
    expect(await clusterNetwork(api({}), undefined, silent)).toBe('default');
  });

  it('falls back to the default network for a property that is not a DNS label, or an API error', async () => {
    expect(await clusterNetwork(api({ [PROPERTY_NETWORK]: 'Not_A_Label' }), undefined, silent)).toBe('default');
    expect(await clusterNetwork(api({}, true), undefined, silent)).toBe('default');
  });
});
