import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventLog, type LoggedEvent } from './event-log.ts';
import { WatchHub, type WatchOutput } from './watch-hub.ts';

/** A socket stand-in: while `blocked`, written bytes stay buffered until drain(). */
class FakeOutput implements WatchOutput {
  readonly chunks: Buffer[] = [];
  writableLength = 0;
  blocked = false;
  ended = false;
  destroyed = false;
  readonly #listeners = new Map<string, (() => void)[]>();

  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    if (this.blocked) this.writableLength += chunk.length;
    return !this.blocked;
  }
  end(): void {
    this.ended = true;
    this.#emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.#emit('close');
  }
  once(event: 'drain' | 'close', listener: () => void): this {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return this;
  }
  drain(): void {
    this.blocked = false;
    this.writableLength = 0;
    this.#emit('drain');
  }
  #emit(event: string): void {
    const ls = this.#listeners.get(event) ?? [];
    this.#listeners.delete(event);
    for (const l of ls) l();
  }
  get lines(): { type: string; revision: number }[] {
    return Buffer.concat(this.chunks).toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; revision: number });
  }
}

const ev = (revision: number, pad = 0): LoggedEvent => ({ revision, line: Buffer.from(`${JSON.stringify({ type: 'export', revision, pad: 'x'.repeat(pad) })}\n`) });

function setup(o: { retention?: number; hwm?: number } = {}) {
  const log = new EventLog({ retention: o.retention ?? 100, head: 0, compactedThrough: 0, events: [] });
  const hub = new WatchHub({ log, highWaterMarkBytes: o.hwm ?? 1000, logger: pino({ level: 'silent' }) });
  const commit = (...events: LoggedEvent[]) => {
    log.append(events);
    const batch = Buffer.concat(events.map((e) => e.line));
    hub.broadcast(events, batch);
    return batch;
  };
  return { log, hub, commit };
}

describe('WatchHub', () => {
  it('replays from `since`, bookmarks once caught up, then writes the same buffer to every live watcher', () => {
    const { hub, commit } = setup();
    commit(ev(1), ev(2));
    const a = new FakeOutput();
    const b = new FakeOutput();
    hub.add(a, 0);
    hub.add(b, 2);
    expect(a.lines).toEqual([{ type: 'export', revision: 1, pad: '' }, { type: 'export', revision: 2, pad: '' }, { type: 'bookmark', revision: 2 }]);
    expect(b.lines).toEqual([{ type: 'bookmark', revision: 2 }]);
    const batch = commit(ev(3), ev(4));
    expect(a.chunks.at(-1)).toBe(batch);
    expect(b.chunks.at(-1)).toBe(batch);
  });

  it('answers a compacted or future `since` with one relist and ends the stream', () => {
    const { hub, commit } = setup({ retention: 2 });
    commit(ev(1), ev(2), ev(3));
    for (const since of [0, 9]) {
      const out = new FakeOutput();
      hub.add(out, since);
      expect([out.lines, out.ended]).toEqual([[{ type: 'relist', revision: 3 }], true]);
    }
    expect(hub.size).toBe(0);
  });

  it('pauses a watcher over the high-water mark and catches it up from the log after drain, in order', () => {
    const { hub, commit } = setup({ hwm: 100 });
    const slow = new FakeOutput();
    hub.add(slow, 0);
    slow.blocked = true;
    commit(ev(1, 200));
    commit(ev(2));
    commit(ev(3));
    expect(slow.lines.map((l) => l.revision)).toEqual([0, 1]);
    slow.drain();
    expect(slow.lines.map((l) => l.revision)).toEqual([0, 1, 2, 3]);
    commit(ev(4));
    expect(slow.lines.map((l) => l.revision)).toEqual([0, 1, 2, 3, 4]);
  });

  it('drops a watcher that stays over the high-water mark for a whole tick interval', () => {
    const { hub, commit } = setup({ hwm: 100 });
    const slow = new FakeOutput();
    const fast = new FakeOutput();
    hub.add(slow, 0);
    hub.add(fast, 0);
    slow.blocked = true;
    commit(ev(1, 200));
    hub.tick();
    expect(slow.destroyed).toBe(false);
    hub.tick();
    expect([slow.destroyed, fast.destroyed, hub.size]).toEqual([true, false, 1]);
    expect(fast.lines.filter((l) => l.type === 'bookmark')).toHaveLength(3);
  });

  it('sends a relist when a paused watcher fell behind the retained log', () => {
    const { hub, commit } = setup({ hwm: 100, retention: 2 });
    const slow = new FakeOutput();
    hub.add(slow, 0);
    slow.blocked = true;
    commit(ev(1, 200));
    commit(ev(2));
    commit(ev(3));
    commit(ev(4));
    slow.drain();
    expect(slow.lines.map((l) => l.type)).toEqual(['bookmark', 'export', 'relist']);
    expect(slow.ended).toBe(true);
  });

  it('ends every stream on close and ends later watchers at once', () => {
    const { hub, commit } = setup();
    commit(ev(1));
    const a = new FakeOutput();
    hub.add(a, 1);
    hub.close();
    expect([a.ended, hub.size]).toEqual([true, 0]);
    const late = new FakeOutput();
    hub.add(late, 1);
    expect([late.ended, late.chunks.length]).toEqual([true, 0]);
  });
});
