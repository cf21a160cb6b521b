import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeTimers } from '../test/support/fake-timers.ts';
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

  // CI mcs-faults: the probe server's stop waited for good on a connection caught
  // mid-handshake, so the agent never exited. A hung part must not hold the others.
  it('gives up on a part whose stop hangs, logs it by name with a code, and stops the rest', async () => {
    const timers = new FakeTimers();
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'debug' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) });
    const life = new Lifecycle(log, { stopTimeoutMs: 5_000, timers });
    const stopped: string[] = [];
    life.started('first', 'first', (p) => { stopped.push(p); });
    life.started('hangs', 'hangs', () => new Promise<void>(() => undefined));
    life.started('last', 'last', (p) => { stopped.push(p); });
    const done = life.stopAll();
    await expect.poll(() => stopped).toEqual(['last']);
    timers.advance(4_999);
    await Promise.resolve();
    expect(stopped).toEqual(['last']);
    timers.advance(1);
    await done;
    expect(stopped).toEqual(['last', 'first']);
    expect(lines).toContainEqual(expect.objectContaining({ part: 'hangs', code: 'PLX_AGENT_STOP_TIMEOUT', level: 50 }));
  });
});
