import { describe, expect, it } from 'vitest';
import { parseGatewayConfig } from './config.ts';
import { isGatewayError } from './errors.ts';

const files = { certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca.pem' };

describe('parseGatewayConfig', () => {
  it('fills the defaults and reads a --forward', () => {
    const c = parseGatewayConfig({ ...files, forwards: ['127.0.0.1:9000=east@[fd00::2]:15443/web.shop.svc:80'] });
    expect(c).toMatchObject({
      listen: { host: '0.0.0.0', port: 15443 }, identity: { kind: 'files', certFile: 'c.pem' }, members: [], sessionsPerPeer: 2, openTimeoutMs: 10_000, reloadIntervalMs: 10_000,
      metricsListen: { host: '0.0.0.0', port: 9091 },
      forwards: [{ listen: { host: '127.0.0.1', port: 9000 }, cluster: 'east', gateway: { host: 'fd00::2', port: 15443 }, target: { name: 'web', namespace: 'shop', port: 80 } }],
    });
    expect(Object.isFrozen(c)).toBe(true);
    expect(parseGatewayConfig({ dataDir: '/var/lib/plexus', metricsListen: 'off' })).toMatchObject({ identity: { kind: 'data-dir', dataDir: '/var/lib/plexus' }, metricsListen: 'off' });
  });

  it('reports every problem at once with PLX_GATEWAY_BAD_ARGUMENT', () => {
    try {
      parseGatewayConfig({
        listen: 'nowhere', dataDir: 'd', certFile: 'c', members: ['West'], logLevel: 'loud', sessionsPerPeer: '0',
        forwards: ['127.0.0.1:9000=east@10.0.0.2:15443/10.0.0.9:80', 'junk'],
      });
      expect.unreachable();
    } catch (e) {
      expect(isGatewayError(e, 'PLX_GATEWAY_BAD_ARGUMENT')).toBe(true);
      const m = (e as Error).message;
      for (const part of ['--listen', 'not both', '--member "West"', '--log-level', '--sessions-per-peer', 'target "10.0.0.9:80"', '--forward "junk"']) expect(m).toContain(part);
    }
  });

  it('needs an identity: --identity-dir or all three PEM files', () => {
    expect(() => parseGatewayConfig({ certFile: 'c', keyFile: 'k' })).toThrow(/--identity-dir DIR/);
  });
});
