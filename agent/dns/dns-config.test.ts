// The DNS fields of the agent config (agent/config.ts): defaults in and out of a cluster,
// IPv6 listen addresses, and validation with the stable code.
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../config.ts';
import type { AgentError } from '../errors.ts';

describe('agent config: DNS', () => {
  it('listens on 0.0.0.0:53 in a cluster and on a free loopback port with a kubeconfig; TTL 5 s', () => {
    expect(parseAgentConfig({}).dnsListen).toEqual({ host: '0.0.0.0', port: 53 });
    const outside = parseAgentConfig({ kubeconfig: '/k' });
    expect(outside.dnsListen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(outside.dnsTtlSeconds).toBe(5);
  });

  it('takes host:port and [v6]:port, and a TTL', () => {
    expect(parseAgentConfig({ kubeconfig: '/k', dnsListen: '[::1]:5353', dnsTtlSeconds: 30 })).toMatchObject({ dnsListen: { host: '::1', port: 5353 }, dnsTtlSeconds: 30 });
  });

  it('rejects a bad listen address and TTL with PLX_AGENT_BAD_ARGUMENT', () => {
    for (const bad of [{ dnsListen: '127.0.0.1' }, { dnsListen: '127.0.0.1:99999' }, { dnsTtlSeconds: -1 }, { dnsTtlSeconds: Number.NaN }]) {
      let err: unknown;
      try {
        parseAgentConfig({ kubeconfig: '/k', ...bad });
      } catch (e) {
        err = e;
      }
      expect((err as AgentError | undefined)?.code).toBe('PLX_AGENT_BAD_ARGUMENT');
    }
  });
});
