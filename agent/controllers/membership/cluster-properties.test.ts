import { describe, expect, it } from 'vitest';
import type { ClusterProperty } from '../../../crds/types.ts';
import type { KubeApi } from '../../kube/kube-api.ts';
import { removeClustersetProperty, writeClusterProperties } from './cluster-properties.ts';

/** Only ClusterProperties, kept in a map. */
function memoryApi(initial: Record<string, string> = {}) {
  const props = new Map(Object.entries(initial));
  const api = {
    server: 'memory',
    list: async () => { throw new Error('unused'); },
    get: async (_r: unknown, ref: { name: string }) => {
      const v = props.get(ref.name);
      return (v === undefined ? null : { metadata: { name: ref.name }, spec: { value: v } }) as never;
    },
    apply: async (_r: unknown, obj: ClusterProperty) => {
      props.set(obj.metadata!.name!, obj.spec.value);
      return obj as never;
    },
    delete: async (_r: unknown, ref: { name: string }) => props.delete(ref.name),
  } as unknown as KubeApi;
  return { api, props };
}

const m = { clusterId: 'east', clusterset: 'acme.example' };

describe('writeClusterProperties', () => {
  it('writes both properties on a fresh cluster', async () => {
    const { api, props } = memoryApi();
    await writeClusterProperties(api, m);
    expect(Object.fromEntries(props)).toEqual({ 'cluster.clusterset.k8s.io': 'east', 'clusterset.k8s.io': 'acme.example' });
  });

  it('refuses another cluster ID while the cluster is a member, and changes nothing', async () => {
    const { api, props } = memoryApi({ 'cluster.clusterset.k8s.io': 'west', 'clusterset.k8s.io': 'acme.example' });
    await expect(writeClusterProperties(api, m)).rejects.toMatchObject({ code: 'PLX_AGENT_CLUSTER_ID_IMMUTABLE' });
    expect(props.get('cluster.clusterset.k8s.io')).toBe('west');
  });

  it('refuses membership of a second clusterset', async () => {
    const { api } = memoryApi({ 'clusterset.k8s.io': 'other.example' });
    await expect(writeClusterProperties(api, m)).rejects.toMatchObject({ code: 'PLX_AGENT_CLUSTERSET_MISMATCH' });
  });

  it('lets the ID change once the cluster has left (KEP-2149: immutable only while a member)', async () => {
    const { api, props } = memoryApi({ 'cluster.clusterset.k8s.io': 'west' });
    expect(await writeClusterProperties(api, m)).toEqual({ previousClusterId: 'west' });
    expect(props.get('cluster.clusterset.k8s.io')).toBe('east');
  });

  it('leaving removes only clusterset.k8s.io, and is idempotent', async () => {
    const { api, props } = memoryApi({ 'cluster.clusterset.k8s.io': 'east', 'clusterset.k8s.io': 'acme.example' });
    await removeClustersetProperty(api);
    await removeClustersetProperty(api);
    expect(Object.fromEntries(props)).toEqual({ 'cluster.clusterset.k8s.io': 'east' });
  });
});
