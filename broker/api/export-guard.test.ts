import { describe, expect, it } from 'vitest';
import { DEFAULT_PROTECTED_NAMESPACES, exportRefusal, refusedAddressKind } from './export-guard.ts';

describe('export guard', () => {
  it('classifies special-range addresses, IPv4 and IPv6', () => {
    const kinds = Object.fromEntries(['127.0.0.1', '169.254.169.254', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'ff02::1', '::ffff:7f00:1', 'not-an-ip']
      .map((a) => [a, refusedAddressKind(a)]));
    expect(kinds).toEqual({
      '127.0.0.1': 'loopback', '169.254.169.254': 'link-local', '0.0.0.0': 'unspecified', '224.0.0.1': 'multicast', '255.255.255.255': 'broadcast',
      '::1': 'loopback', '::': 'unspecified', 'fe80::1': 'link-local', 'ff02::1': 'multicast', '::ffff:7f00:1': 'ipv4-mapped', 'not-an-ip': 'unspecified',
    });
    for (const ok of ['10.1.0.1', '192.168.1.1', '100.64.0.1', 'fd00::1', '2001:db8::1']) expect(refusedAddressKind(ok)).toBeUndefined();
  });

  it('refuses protected namespaces first, then the first bad address', () => {
    const e = (namespace: string, addresses: string[]) => ({ namespace, name: 'x', endpoints: [{ addresses }] });
    expect(exportRefusal(e('kube-system', ['10.0.0.1']), DEFAULT_PROTECTED_NAMESPACES)?.code).toBe('PLX_BROKER_EXPORT_PROTECTED_NAMESPACE');
    expect(exportRefusal(e('kube-system', ['10.0.0.1']), [])).toBeUndefined();
    expect(exportRefusal(e('shop', ['10.0.0.1', '::1']), DEFAULT_PROTECTED_NAMESPACES)).toEqual({
      code: 'PLX_BROKER_EXPORT_ADDRESS_REFUSED', message: 'export shop/x refused: endpoint address ::1 is loopback',
    });
  });
});
