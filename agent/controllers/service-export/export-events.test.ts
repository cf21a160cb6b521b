import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { ServiceExport } from '../../../crds/types.ts';
import { SERVICE_EXPORTS, SERVICE_IMPORTS, eventObject, type KubeObject } from '../../kube/index.ts';
import { changedConditions, exportNote, withExportEvents } from './export-events.ts';

const c = (type: string, status: string, reason: string) => ({ type, status, reason, message: `${type} ${reason}` });
const se: ServiceExport = { metadata: { namespace: 'shop', name: 'cart', uid: '0123456789abcdef' }, status: { conditions: [] } };
const now = new Date('2030-01-01T00:00:00.123Z');
const exportEvent = (s: ServiceExport, x: ReturnType<typeof c>, at: Date, clusterId: string) => eventObject(exportNote(s, x), at, clusterId);

describe('ServiceExport events', () => {
  it('picks the conditions whose status or reason changed', () => {
    const before = [c('Valid', 'True', 'Valid'), c('Ready', 'Unknown', 'Pending'), c('Conflict', 'True', 'PortConflict')];
    const after = [c('Valid', 'True', 'Valid'), c('Ready', 'True', 'Exported'), c('Conflict', 'True', 'PortConflict,TypeConflict')];
    expect(changedConditions(before, after).map((x) => x.reason)).toEqual(['Exported', 'PortConflict,TypeConflict']);
    expect(changedConditions(undefined, after)).toHaveLength(3);
  });

  it('names one Event per export, condition and reason (a valid name even for joined reasons), Warning for bad news', () => {
    const e = exportEvent(se, c('Conflict', 'True', 'PortConflict,TypeConflict'), now, 'east') as KubeObject & Record<string, unknown>;
    expect(e.metadata?.name).toBe('cart.01234567.conflict-portconflict-typeconflict');
    expect(e).toMatchObject({ type: 'Warning', reason: 'PortConflict,TypeConflict', firstTimestamp: '2030-01-01T00:00:00Z', reportingInstance: 'east' });
    expect(e.involvedObject).toEqual({ apiVersion: 'multicluster.x-k8s.io/v1beta1', kind: 'ServiceExport', namespace: 'shop', name: 'cart', uid: '0123456789abcdef' });
    expect((exportEvent(se, c('Ready', 'True', 'Exported'), now, 'east') as { type: string }).type).toBe('Normal');
    expect((exportEvent(se, c('Valid', 'False', 'NoService'), now, 'east') as { type: string }).type).toBe('Warning');
  });

  it('records events only for ServiceExport status writes that happened, and never fails the write', async () => {
    const applied: KubeObject[] = [];
    let wrote = true;
    const status = { apply: async () => wrote };
    const api = { apply: async (_r: unknown, o: KubeObject) => { applied.push(o); throw new Error('events forbidden'); } };
    const w = withExportEvents(status, { api: api as never, clock: { now: () => now }, clusterId: 'east', logger: pino({ level: 'silent' }) });
    expect(await w.apply(SERVICE_EXPORTS, se, { conditions: [c('Ready', 'True', 'Exported')] } as never)).toBe(true);
    expect(applied).toHaveLength(1);
    expect(await w.apply(SERVICE_IMPORTS, { metadata: {} } as never, { clusters: [] } as never)).toBe(true);
    wrote = false;
    expect(await w.apply(SERVICE_EXPORTS, se, { conditions: [c('Ready', 'False', 'Failed')] } as never)).toBe(false);
    expect(applied).toHaveLength(1);
  });
});
