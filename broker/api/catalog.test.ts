// The catalog wire contract across versions: what an older agent sends, what an older
// broker streams, and what a newer broker may stream must all still parse.
import { describe, expect, it } from 'vitest';
import { exportSpecSchema, mergedServiceSchema, watchEventSchema } from './catalog.ts';

const service = {
  namespace: 'shop', name: 'cart', type: 'ClusterSetIP', ports: [{ name: 'http', protocol: 'TCP', port: 80 }], sessionAffinity: 'None',
  members: [{ cluster: 'east', createdAt: '2026-01-01T00:00:00Z', conflicts: [], excluded: false }],
};

describe('catalog wire contract', () => {
  it('reads a merged service from an older broker (no v1beta1 fields) with empty defaults', () => {
    expect(mergedServiceSchema.parse(service)).toMatchObject({ exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [] });
  });

  it('reads an export from an older agent (no v1beta1 fields) with empty defaults', () => {
    const spec = exportSpecSchema.parse({
      cluster: 'east', namespace: 'shop', name: 'cart', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP',
      ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpoints: [],
    });
    expect(spec).toMatchObject({ exportedLabels: {}, exportedAnnotations: {}, ipFamilies: [] });
    expect(spec.internalTrafficPolicy).toBeUndefined();
  });

  it('a conflict reason this version does not know does not break the watch stream (a newer broker)', () => {
    const members = [{ cluster: 'east', createdAt: '2026-01-01T00:00:00Z', conflicts: ['PortConflict', 'SomeFutureConflict'], excluded: false }];
    const event = watchEventSchema.parse({ type: 'service', revision: 3, namespace: 'shop', name: 'cart', service: { ...service, members } });
    expect(event.type === 'service' && event.service?.members[0]?.conflicts).toEqual(['PortConflict', 'SomeFutureConflict']);
    expect(mergedServiceSchema.safeParse({ ...service, members: [{ ...members[0], conflicts: ['not a reason!'] }] }).success).toBe(false);
  });

  it('refuses an exported label the ServiceImport could not carry', () => {
    const base = { cluster: 'east', namespace: 'shop', name: 'cart', createdAt: '2026-01-01T00:00:00Z', type: 'ClusterSetIP', ports: [], endpoints: [] };
    expect(exportSpecSchema.safeParse({ ...base, exportedLabels: { 'example.com/tier': 'web' } }).success).toBe(true);
    expect(exportSpecSchema.safeParse({ ...base, exportedLabels: { tier: 'not a value' } }).success).toBe(false);
    expect(exportSpecSchema.safeParse({ ...base, exportedLabels: { '-tier': 'web' } }).success).toBe(false);
  });
});
