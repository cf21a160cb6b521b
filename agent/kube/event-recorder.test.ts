import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventRecorder, eventObject, type EventNote } from './event-recorder.ts';
import type { KubeObject } from './resources.ts';

const note: EventNote = {
  name: 'cart.clash', namespace: 'shop', type: 'Warning', reason: 'PLX_X', message: 'm'.repeat(2000),
  regarding: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'cart', uid: '' },
};
const now = new Date('2030-01-01T00:00:00.123Z');

describe('EventRecorder', () => {
  it('builds one Event shape: whole-second timestamps, no empty uid, message capped, this cluster as reporting instance', () => {
    const e = eventObject(note, now, 'east') as KubeObject & Record<string, unknown>;
    expect(e).toMatchObject({
      apiVersion: 'v1', kind: 'Event', metadata: { name: 'cart.clash', namespace: 'shop' }, type: 'Warning', reason: 'PLX_X',
      firstTimestamp: '2030-01-01T00:00:00Z', lastTimestamp: '2030-01-01T00:00:00Z', count: 1,
      reportingComponent: 'plexus.io/agent', reportingInstance: 'east',
    });
    expect(e.involvedObject).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'cart' });
    expect(String(e.message)).toHaveLength(1024);
    expect((eventObject({ ...note, regarding: { ...note.regarding, uid: 'u-1' } }, now, 'east') as { involvedObject: { uid?: string } }).involvedObject.uid).toBe('u-1');
  });

  it('applies the Event, and resolves false instead of throwing when the API server refuses', async () => {
    const applied: KubeObject[] = [];
    let refuse = false;
    const api = { apply: async (_r: unknown, o: KubeObject) => { if (refuse) throw new Error('forbidden'); applied.push(o); return o; } };
    const rec = new EventRecorder({ api: api as never, clock: { now: () => now }, clusterId: 'east', logger: pino({ level: 'silent' }) });
    expect(await rec.record(note)).toBe(true);
    expect(applied.map((o) => o.metadata?.name)).toEqual(['cart.clash']);
    refuse = true;
    expect(await rec.record(note)).toBe(false);
  });
});
