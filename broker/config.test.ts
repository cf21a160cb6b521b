import { describe, expect, it } from 'vitest';
import { brokerConfigDefaults, parseBrokerConfig, parseListen } from './config.ts';
import type { BrokerError } from './errors.ts';

describe('broker config', () => {
  it('applies defaults and freezes the result', () => {
    const c = parseBrokerConfig({ dataDir: '/var/lib/plexus' });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 7443 });
    expect(c.clusterCertLifetimeSeconds).toBe(brokerConfigDefaults.clusterCertLifetimeSeconds);
    expect(c.clusterRenewGraceSeconds).toBe(24 * 3600);
    expect(c.bodyLimitBytes).toBe(64 * 1024);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.sans)).toBe(true);
  });

  it('reports every problem at once', () => {
    let err: BrokerError | undefined;
    try {
      parseBrokerConfig({ dataDir: '', listen: 'nope', sans: ['Bad_Name'], clusterCertLifetimeSeconds: 9, bodyLimitBytes: 1.5, logLevel: 'loud' });
    } catch (e) {
      err = e as BrokerError;
    }
    expect(err?.code).toBe('PLX_BROKER_CONFIG_INVALID');
    expect(err?.details).toHaveLength(6);
  });

  it('takes the etcd backend from --etcd-endpoints with its TLS files, and lists every etcd problem at once', () => {
    expect(parseBrokerConfig({ dataDir: '/d' }).etcd).toBeUndefined();
    const c = parseBrokerConfig({ dataDir: '/d', etcd: { endpoints: 'https://a:2379, https://b:2379', ca: 'ca.crt', cert: 'c.crt', key: 'c.key' } });
    expect(c.etcd).toEqual({ endpoints: ['https://a:2379', 'https://b:2379'], caFile: 'ca.crt', certFile: 'c.crt', keyFile: 'c.key', probeIntervalMs: 1000, requestTimeoutMs: 5000 });
    expect(Object.isFrozen(c.etcd)).toBe(true);
    let err: BrokerError | undefined;
    try {
      parseBrokerConfig({ dataDir: '/d', etcd: { endpoints: 'http://a:2379,https://b:2379/x', ca: 'ca.crt', prefix: 'plexus' } });
    } catch (e) {
      err = e as BrokerError;
    }
    expect(err?.code).toBe('PLX_BROKER_CONFIG_INVALID');
    expect(err?.details).toEqual([
      '--etcd-endpoints: "http://a:2379" is not https://host:port', '--etcd-endpoints: "https://b:2379/x" is not https://host:port',
      '--etcd-cert is required with --etcd-endpoints (etcd is reached with mutual TLS only)', '--etcd-key is required with --etcd-endpoints (etcd is reached with mutual TLS only)',
      '--etcd-prefix "plexus" must start and end with "/"',
    ]);
    expect(() => parseBrokerConfig({ dataDir: '/d', etcd: { key: 'c.key' } })).toThrow(/--etcd-key needs --etcd-endpoints/);
  });

  it('protects kube-system, kube-public, kube-node-lease and plexus-system by default; the list may be emptied but not malformed', () => {
    expect(parseBrokerConfig({ dataDir: '/d' }).protectedNamespaces).toEqual(['kube-system', 'kube-public', 'kube-node-lease', 'plexus-system']);
    expect(parseBrokerConfig({ dataDir: '/d', protectedNamespaces: [] }).protectedNamespaces).toEqual([]);
    expect(() => parseBrokerConfig({ dataDir: '/d', protectedNamespaces: ['Kube_System'] })).toThrow(/protected namespace "Kube_System"/);
  });

  it('defaults and range-checks the catalog fields', () => {
    const c = parseBrokerConfig({ dataDir: '/d' });
    expect([c.leaseDurationSeconds, c.eventRetention, c.watchBookmarkIntervalMs]).toEqual([30, 10_000, 10_000]);
    expect(parseBrokerConfig({ dataDir: '/d', leaseDurationSeconds: 2, eventRetention: 5 })).toMatchObject({ leaseDurationSeconds: 2, eventRetention: 5 });
    let err: BrokerError | undefined;
    try {
      parseBrokerConfig({ dataDir: '/d', leaseDurationSeconds: 0, leaseCheckIntervalMs: 1.5, eventRetention: 0, watchHighWaterMarkBytes: 1 });
    } catch (e) {
      err = e as BrokerError;
    }
    expect(err?.code).toBe('PLX_BROKER_CONFIG_INVALID');
    expect(err?.details).toHaveLength(4);
  });

  it.each([
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['0.0.0.0:7443', { host: '0.0.0.0', port: 7443 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['broker.acme.example:443', { host: 'broker.acme.example', port: 443 }],
  ])('parses listen %s', (s, want) => {
    expect(parseListen(s)).toEqual(want);
  });

  it.each(['7443', 'host:', ':7443', 'host:70000', '[nothost]:1', '::1:8443'])('rejects listen %s', (s) => {
    expect(typeof parseListen(s)).toBe('string');
  });
});
