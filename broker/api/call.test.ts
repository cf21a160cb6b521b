// callBroker's overall deadline, over real sockets: undici starts headersTimeout (and honours
// an AbortSignal) only once a request is written on a connection, so a call queued behind a
// wedged connection used to wait as long as that connection did.
import net from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { callBroker } from './call.ts';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** A server that accepts connections and never answers; one connection per origin, already taken by a stuck request. */
async function wedged(): Promise<{ baseUrl: URL; dispatcher: Agent }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => { sockets.add(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const baseUrl = new URL(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  const dispatcher = new Agent({ connections: 1 });
  void request(new URL('/stuck', baseUrl), { dispatcher, headersTimeout: 60_000 }).catch(() => undefined);
  cleanup.push(() => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }));
  cleanup.push(() => dispatcher.destroy());
  return { baseUrl, dispatcher };
}

describe('callBroker', () => {
  it('gives up on a call still queued behind a wedged connection at its deadline (unreachable)', async () => {
    const { baseUrl, dispatcher } = await wedged();
    const started = performance.now();
    const r = await callBroker({ baseUrl, dispatcher, timeoutMs: 300 }, 'POST', '/v1/lease', {}, z.object({}));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(r).toMatchObject({ ok: false, kind: 'unreachable', message: expect.stringContaining('no answer within 300 ms') });
  });

  it('gives up when the caller\'s signal aborts, queued or not', async () => {
    const { baseUrl, dispatcher } = await wedged();
    const caller = new AbortController();
    const call = callBroker({ baseUrl, dispatcher, timeoutMs: 60_000 }, 'POST', '/v1/lease', {}, z.object({}), caller.signal);
    setTimeout(() => caller.abort(new Error('heartbeat deadline')), 100);
    await expect(call).resolves.toMatchObject({ ok: false, kind: 'unreachable', message: expect.stringContaining('heartbeat deadline') });
  });
});
