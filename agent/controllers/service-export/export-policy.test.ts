// An unreadable answer policy on a ServiceExport is Valid=False (InvalidPolicy); a readable
// one, or none, leaves Valid as the Service decides.
import type { V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validCondition } from './export-conditions.ts';

const svc: V1Service = { metadata: { name: 'web' }, spec: { type: 'ClusterIP' } };

describe('validCondition with policy annotations', () => {
  it.each([
    [{ 'plexus.io/dns-policy': 'fastest' }],
    [{ 'plexus.io/weights': 'cluster-1=heavy' }],
  ])('%j is Valid=False with reason InvalidPolicy', (annotations) => {
    expect(validCondition(svc, 3, annotations)).toMatchObject({ type: 'Valid', status: 'False', reason: 'InvalidPolicy', observedGeneration: 3 });
  });

  it('accepts valid policies and no annotations', () => {
    expect(validCondition(svc, 1, { 'plexus.io/dns-policy': 'local-only', 'plexus.io/weights': 'a=1' })).toMatchObject({ status: 'True', reason: 'Valid' });
    expect(validCondition(svc, 1)).toMatchObject({ status: 'True', reason: 'Valid' });
  });

  it('NoService still wins over a bad policy', () => {
    expect(validCondition(undefined, 1, { 'plexus.io/dns-policy': 'x' })).toMatchObject({ reason: 'NoService' });
  });
});
