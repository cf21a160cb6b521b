import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ClusterProperty } from '../../crds/types.ts';
import { PROPERTY_REGION, PROPERTY_ZONE, clusterLocation } from './cluster-location.ts';

const silent = pino({ level: 'silent' });
const api = (props: Record<string, string>, fail = false) => ({
  get: async (_r: unknown, ref: { name: string }) => {
    if (fail) throw new Error('apiserver down');
    const value = props[ref.name];
    return (value === undefined ? null : { spec: { value } }) as ClusterProperty | null;
  },
}) as Parameters<typeof clusterLocation>[0];

describe('clusterLocation', () => {
  it('takes the flags first, then the ClusterProperties', async () => {
    const props = { [PROPERTY_ZONE]: 'prop-zone', [PROPERTY_REGION]: 'prop-region' };
    expect(await clusterLocation(api(props), { zone: 'flag-zone' }, silent)).toEqual({ zone: 'flag-zone', region: 'prop-region' });
    expect(await clusterLocation(api(props), {}, silent)).toEqual({ zone: 'prop-zone', region: 'prop-region' });
  });

  it('ignores values that are not label values, absent properties and API errors', async () => {
    expect(await clusterLocation(api({ [PROPERTY_ZONE]: 'not a label!' }), {}, silent)).toEqual({ zone: undefined, region: undefined });
    expect(await clusterLocation(api({}, true), { region: 'r' }, silent)).toEqual({ zone: undefined, region: 'r' });
  });
});
