// `--watch` for the fleet views: fetch, render, and print only when the rendering changed,
// every `intervalMs`, until `signal` aborts. The first fetch failing ends the command with
// its error (nothing to show); later failures are reported on stderr and retried, so a
// watch survives a broker restart.
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../output.ts';

export interface WatchLoopOptions<T> {
  readonly fetch: () => Promise<T>;
  /** The text to print for one result; equal text is not printed again. */
  readonly render: (data: T) => string;
  /** What must change for a new print (default: the rendered text). */
  readonly changeKey?: (data: T) => string;
  readonly intervalMs: number;
  readonly signal: AbortSignal;
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
  /** Clear the terminal before each table (an interactive terminal, table output). */
  readonly clear: boolean;
}

export async function watchLoop<T>(o: WatchLoopOptions<T>): Promise<void> {
  let last: string | undefined;
  let failing = false;
  for (let first = true; !o.signal.aborted; first = false) {
    try {
      const data = await o.fetch();
      const text = o.render(data);
      const key = o.changeKey ? o.changeKey(data) : text;
      if (failing) o.err.write('broker reachable again\n');
      failing = false;
      if (key !== last) o.out.write((o.clear ? '\x1b[2J\x1b[H' : '') + text);
      last = key;
    } catch (err) {
      if (first) throw err;
      if (!failing) o.err.write(`${describeError(err)} (retrying every ${o.intervalMs} ms)\n`);
      failing = true;
    }
    try {
      await sleep(o.intervalMs, undefined, { signal: o.signal });
    } catch {
      return;
    }
  }
}
