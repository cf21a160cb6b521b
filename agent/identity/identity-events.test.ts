import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { KubeObject } from '../kube/resources.ts';
import { IdentityEvents, eventTarget } from './identity-events.ts';

function setup(identity: Parameters<typeof eventTarget>[0], fail = false) {
  const applied: { kind: string; obj: KubeObject & Record<string, unknown> }[] = [];
  const api = {
    apply: vi.fn(async (r: { kind: string }, obj: KubeObject) => {
      if (fail) throw new Error('forbidden');
      applied.push({ kind: r.kind, obj: obj as KubeObject & Record<string, unknown> });
      return obj;
    }),
  };
  const events = new IdentityEvents({
    api: api as never, target: eventTarget(identity), clusterId: 'east-1', now: () => new Date('2026-01-01T00:00:00Z'), logger: pino({ level: 'silent' }),
  });
  return { events, applied, api };
}

describe('IdentityEvents', () => {
  it('records a Warning Event regarding the identity Secret, one name per certificate', async () => {
    const t = setup({ kind: 'secret', namespace: 'plexus-system', name: 'plexus-agent-identity' });
    t.events.expiring({ serial: '0a1b2c', notAfter: new Date('2026-01-01T01:00:00Z') });
    t.events.expiring({ serial: '0a1b2c', notAfter: new Date('2026-01-01T01:00:00Z') });
    await vi.waitFor(() => expect(t.applied).toHaveLength(2));
    const [a, b] = t.applied;
    expect(a!.kind).toBe('Event');
    expect(a!.obj.metadata).toMatchObject({ namespace: 'plexus-system', name: 'plexus-agent-identity.certificateexpiring.0a1b2c' });
    expect(b!.obj.metadata!.name).toBe(a!.obj.metadata!.name);
    expect(a!.obj).toMatchObject({
      type: 'Warning', reason: 'CertificateExpiring',
      involvedObject: { apiVersion: 'v1', kind: 'Secret', namespace: 'plexus-system', name: 'plexus-agent-identity' },
    });
    expect(String(a!.obj.message)).toContain('2026-01-01T01:00:00.000Z');
  });

  it('tells the operator to join again when renewal is refused; with a file store, in default about the ClusterProperty', async () => {
    const t = setup({ kind: 'file', dataDir: '/tmp/x' });
    t.events.refused({ code: 'PLX_AGENT_IDENTITY_EXPIRED', message: 'run `plexus agent join` again', notAfter: new Date(0) });
    await vi.waitFor(() => expect(t.applied).toHaveLength(1));
    expect(t.applied[0]!.obj).toMatchObject({
      metadata: { namespace: 'default' }, reason: 'CertificateRenewalRefused',
      involvedObject: { kind: 'ClusterProperty', name: 'cluster.clusterset.k8s.io' },
    });
    expect(String(t.applied[0]!.obj.message)).toMatch(/^PLX_AGENT_IDENTITY_EXPIRED: .*plexus agent join/);
  });

  it('never throws when the API server refuses', async () => {
    const t = setup({ kind: 'secret', namespace: 'plexus-system', name: 'id' }, true);
    expect(() => t.events.expiring({ serial: '01', notAfter: new Date() })).not.toThrow();
    await vi.waitFor(() => expect(t.api.apply).toHaveBeenCalledTimes(1));
  });
});
