import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from './config.ts';
import { AgentError } from './errors.ts';

describe('parseAgentConfig', () => {
  it('defaults to the identity Secret and frozen defaults', () => {
    const c = parseAgentConfig({ kubeconfig: '/k' });
    expect(c.identity).toEqual({ kind: 'secret', namespace: 'plexus-system', name: 'plexus-agent-identity' });
    expect(c.requeueBaseMs).toBe(50);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('refuses people through the access proxy after 5 min without a revocation update unless configured', () => {
    expect(parseAgentConfig({ kubeconfig: '/k' }).revocationMaxStalenessMs).toBe(300_000);
    expect(parseAgentConfig({ kubeconfig: '/k', revocationMaxStalenessMs: 2000 }).revocationMaxStalenessMs).toBe(2000);
    expect(() => parseAgentConfig({ kubeconfig: '/k', revocationMaxStalenessMs: 0 })).toThrow(/revocationMaxStalenessMs must be an integer/);
  });

  it('uses a data dir when one is given', () => {
    expect(parseAgentConfig({ dataDir: '/d' }).identity).toEqual({ kind: 'file', dataDir: '/d' });
  });

  it('reports every problem at once with a stable code', () => {
    let err: unknown;
    try {
      parseAgentConfig({ brokerUrl: 'http://x', zone: 'bad zone', requeueBaseMs: 0, logLevel: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('PLX_AGENT_BAD_ARGUMENT');
    const msg = (err as Error).message;
    for (const field of ['brokerUrl', 'zone', 'requeueBaseMs', 'logLevel']) expect(msg).toContain(field);
  });

  it('serves metrics on 0.0.0.0:9090 in a cluster, a free loopback port with a kubeconfig, or not at all', () => {
    expect(parseAgentConfig({}).metricsListen).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(parseAgentConfig({ kubeconfig: '/k' }).metricsListen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseAgentConfig({ metricsListen: 'off' }).metricsListen).toBeNull();
    expect(parseAgentConfig({ metricsListen: '[::1]:9100' }).metricsListen).toEqual({ host: '::1', port: 9100 });
    expect(() => parseAgentConfig({ metricsListen: '9090' })).toThrow(/metricsListen "9090" must be HOST:PORT/);
  });

  it('parses the probe and proxy listen addresses and advertised URLs like the metrics one, reporting every problem', () => {
    const c = parseAgentConfig({ probeListen: 'off', proxyListen: '[::1]:8443', proxyUrl: 'https://p:1', probeUrl: 'https://q:2' });
    expect(c.topology.probeListen).toBeNull();
    expect(c.proxyListen).toEqual({ host: '::1', port: 8443 });
    expect([c.proxyUrl, c.topology.probeUrl]).toEqual(['https://p:1', 'https://q:2']);
    let msg = '';
    try {
      parseAgentConfig({ probeListen: 'x:99999', proxyListen: '8443', proxyUrl: 'http://p:1', probeUrl: 'nope' });
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('probeListen port 99999 is out of range');
    expect(msg).toContain('proxyListen "8443" must be HOST:PORT');
    expect(msg).toContain('proxyUrl must use https');
    expect(msg).toContain('probeUrl "nope" is not a URL');
  });

  it('has DNS over TCP limits as config fields: frame deadline, global and per-source caps', () => {
    expect(parseAgentConfig({}).dnsTcp).toEqual({ idleTimeoutMs: 10_000, frameTimeoutMs: 2000, maxConnections: 512, maxConnectionsPerSource: 64 });
    expect(parseAgentConfig({ dnsTcpFrameTimeoutMs: 300, dnsMaxTcpConnections: 20, dnsMaxTcpConnectionsPerSource: 4 }).dnsTcp)
      .toMatchObject({ frameTimeoutMs: 300, maxConnections: 20, maxConnectionsPerSource: 4 });
    expect(() => parseAgentConfig({ dnsTcpFrameTimeoutMs: 0, dnsMaxTcpConnections: 8, dnsMaxTcpConnectionsPerSource: 9 }))
      .toThrow(/dnsTcpFrameTimeoutMs must be .*; dnsMaxTcpConnectionsPerSource must be an integer between 1 and 8/);
  });

  it('parses the network and gateway flags, defaulting to the shared network and no gateway, reporting every problem', () => {
    const d = parseAgentConfig({ kubeconfig: '/k' }).network;
    expect(d).toEqual({ network: undefined, gatewayAddress: undefined, gatewayServiceAddresses: [], tunnelPorts: { min: 20000, max: 29999 }, namespace: 'plexus-system' });
    const c = parseAgentConfig({ kubeconfig: '/k', network: 'net-b', gatewayAddress: '203.0.113.5:15443', gatewayServiceAddress: '10.0.9.9, fd00::9', tunnelPorts: '30000-30010' }).network;
    expect(c).toMatchObject({ network: 'net-b', gatewayAddress: '203.0.113.5:15443', gatewayServiceAddresses: ['10.0.9.9', 'fd00::9'], tunnelPorts: { min: 30000, max: 30010 } });
    let err: unknown;
    try {
      parseAgentConfig({ kubeconfig: '/k', network: 'Net_B', gatewayAddress: '127.0.0.1:15443', gatewayServiceAddress: '10.0.0.1,10.0.0.2', tunnelPorts: '9-1' });
    } catch (e) { err = e; }
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe('PLX_AGENT_BAD_ARGUMENT');
    for (const m of [/network "Net_B"/, /gatewayAddress: .*loopback/, /at most one IPv4 and one IPv6/, /tunnelPorts "9-1"/]) expect((err as Error).message).toMatch(m);
  });
});
