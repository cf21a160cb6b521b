import { describe, expect, it } from 'vitest';
import { AgentMetrics } from './agent-metrics.ts';

describe('AgentMetrics', () => {
  it('recomputes the certificate expiry from notAfter at every scrape', async () => {
    let now = 1_000_000;
    const m = new AgentMetrics({ defaultMetrics: false, now: () => now });
    m.certificateNotAfter.set(4_600);
    m.certificateExpiry.set(3_600);
    expect(await m.registry.metrics()).toContain('plexus_agent_certificate_expiry_seconds 3600');
    now += 600_000;
    expect(await m.registry.metrics()).toContain('plexus_agent_certificate_expiry_seconds 3000');
  });

  it('needs only notAfter: the expiry is never set by hand', async () => {
    const m = new AgentMetrics({ defaultMetrics: false, now: () => 1_000_000 });
    m.certificateNotAfter.set(1_060);
    expect(await m.registry.metrics()).toContain('plexus_agent_certificate_expiry_seconds 60');
  });

  it('leaves the expiry alone until a certificate is known', async () => {
    const m = new AgentMetrics({ defaultMetrics: false, now: () => 0 });
    expect(await m.registry.metrics()).toContain('plexus_agent_certificate_expiry_seconds 0');
  });

  it('takes the DNS answer tally into the counter at scrape time, once', async () => {
    const m = new AgentMetrics({ defaultMetrics: false });
    m.dnsAnswers[0] = 5; // udp NOERROR
    m.dnsAnswers[16 + 3] = 2; // tcp NXDOMAIN
    let text = await m.registry.metrics();
    expect(text).toContain('plexus_agent_dns_queries_total{rcode="NOERROR",transport="udp"} 5');
    expect(text).toContain('plexus_agent_dns_queries_total{rcode="NXDOMAIN",transport="tcp"} 2');
    m.dnsAnswers[0] = 6;
    text = await m.registry.metrics();
    expect(text).toContain('plexus_agent_dns_queries_total{rcode="NOERROR",transport="udp"} 6');
  });
});
