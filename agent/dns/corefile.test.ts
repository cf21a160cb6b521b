import { describe, expect, it } from 'vitest';
import { BLOCK_BEGIN, isPatched, patchCorefile, unpatchCorefile } from './corefile.ts';

const kubeadm = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

describe('Corefile stub-domain patch', () => {
  it('adds a clusterset.local server block forwarding to the agent and keeps the rest byte for byte', () => {
    const out = patchCorefile(kubeadm, { upstream: '10.96.0.53' });
    expect(out.startsWith(BLOCK_BEGIN)).toBe(true);
    expect(out).toContain('clusterset.local:53 {\n    errors\n    cache 5\n    forward . 10.96.0.53\n}\n');
    expect(out.endsWith(kubeadm)).toBe(true);
  });

  it('is idempotent and replaces an older block instead of adding a second', () => {
    const once = patchCorefile(kubeadm, { upstream: '10.96.0.53' });
    expect(patchCorefile(once, { upstream: '10.96.0.53' })).toBe(once);
    const moved = patchCorefile(once, { upstream: '10.96.0.54:5353' });
    expect(moved.split(BLOCK_BEGIN).length).toBe(2);
    expect(moved).toContain('forward . 10.96.0.54:5353');
  });

  it('undo restores the original exactly, also when the block was moved or the file lacks a final newline', () => {
    expect(unpatchCorefile(patchCorefile(kubeadm, { upstream: '10.96.0.53' }))).toBe(kubeadm);
    const noNewline = '.:53 {\n    forward . 8.8.8.8\n}';
    expect(unpatchCorefile(patchCorefile(noNewline, { upstream: '1.2.3.4' }))).toBe(noNewline);
    const block = patchCorefile('', { upstream: '1.2.3.4' });
    const middle = `${kubeadm}${block}# trailing comment\n`;
    expect(unpatchCorefile(middle)).toBe(`${kubeadm}# trailing comment\n`);
    expect(unpatchCorefile(kubeadm)).toBe(kubeadm);
    expect(isPatched(kubeadm)).toBe(false);
  });
});
