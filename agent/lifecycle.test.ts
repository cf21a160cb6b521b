import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.ts';

describe('Lifecycle', () => {
  it('stops parts in reverse order, all of them even when one fails, and only once', async () => {
    const stopped: string[] = [];
    const life = new Lifecycle(pino({ level: 'silent' }));
    life.started('a', 'A', (p) => { stopped.push(p); });
    life.started('b', 'B', () => { throw new Error('boom'); });
    const c = life.started('c', { name: 'C' }, async (p) => { stopped.push(p.name); });
    expect(c.name).toBe('C');
    await life.stopAll();
    expect(stopped).toEqual(['C', 'A']);
    await life.stopAll();
    expect(stopped).toEqual(['C', 'A']);
  });
});
