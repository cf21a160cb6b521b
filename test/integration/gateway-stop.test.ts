// Stopping a gateway must not wait on peers: a TCP connection that never finished (or never
// began) its TLS handshake is not an HTTP/2 session yet, and closing only the sessions left
// such a connection holding server.close() open.
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startEast } from './support/gateway-fixture.ts';

describe('gateway stop', () => {
  it('close() ends even a connection still before its TLS handshake (it waited for that peer to go away)', async () => {
    const east = await startEast({ members: ['west'] });
    const idle = connect({ port: east.port, host: '127.0.0.1' });
    await once(idle, 'connect');
    const closed = east.stop().then(() => 'closed' as const);
    const outcome = await Promise.race([closed, delay(3000).then(() => 'still waiting' as const)]);
    idle.destroy();
    await closed;
    expect(outcome).toBe('closed');
  });
});
