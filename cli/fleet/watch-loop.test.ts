import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { watchLoop } from './watch-loop.ts';

function sink() {
  const s = new PassThrough();
  let text = '';
  s.on('data', (d: Buffer) => { text += d.toString(); });
  return { s, text: () => text };
}

/** Runs the loop over `results` (a value, or an Error to throw), stopping after the last one. */
async function run(results: (string | Error)[], changeKey?: (d: string) => string) {
  const out = sink();
  const err = sink();
  const stop = new AbortController();
  let i = 0;
  const fetch = async () => {
    const r = results[i++]!;
    if (i >= results.length) stop.abort();
    if (r instanceof Error) throw r;
    return r;
  };
  await watchLoop({ fetch, render: (d) => `${d}\n`, changeKey, intervalMs: 1, signal: stop.signal, out: out.s, err: err.s, clear: false });
  return { out: out.text(), err: err.text() };
}

describe('watchLoop', () => {
  it('prints a result only when it differs from the last one printed', async () => {
    expect((await run(['a', 'a', 'b', 'b', 'a'])).out).toBe('a\nb\na\n');
  });

  it('compares by the change key when given, so a timestamp alone does not print again', async () => {
    const r = await run(['1 x', '2 x', '3 y'], (d) => d.split(' ')[1]!);
    expect(r.out).toBe('1 x\n3 y\n');
  });

  it('keeps going through later failures, saying so once with the stable code, and when it recovers', async () => {
    const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'PLX_BROKER_UNREACHABLE' });
    const r = await run(['a', down, down, 'b']);
    expect(r.out).toBe('a\nb\n');
    expect(r.err).toBe('error [PLX_BROKER_UNREACHABLE]: connect ECONNREFUSED (retrying every 1 ms)\nbroker reachable again\n');
  });

  it('ends with the error when the first fetch fails', async () => {
    const down = Object.assign(new Error('no broker'), { code: 'PLX_BROKER_UNREACHABLE' });
    await expect(run([down, 'a'])).rejects.toMatchObject({ code: 'PLX_BROKER_UNREACHABLE' });
  });
});
