import { describe, expect, it } from 'vitest';
import { nameserverAddresses } from './nameserver-addresses.ts';

const ifaces = {
  lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
  eth0: [{ address: '10.244.1.7', family: 'IPv4', internal: false }, { address: 'fd00::7', family: 'IPv6', internal: false }, { address: 'fe80::1', family: 'IPv6', internal: false }],
} as unknown as Parameters<typeof nameserverAddresses>[1];

describe('nameserverAddresses (A/AAAA of ns.dns.<zone>)', () => {
  it('is the listen address when bound to one, the host addresses for a wildcard bind, loopback when there are none', () => {
    expect(nameserverAddresses('127.0.0.1', ifaces)).toEqual(['127.0.0.1']);
    expect(nameserverAddresses('0.0.0.0', ifaces)).toEqual(['10.244.1.7']);
    expect(nameserverAddresses('::', ifaces)).toEqual(['10.244.1.7', 'fd00::7']);
    expect(nameserverAddresses('0.0.0.0', {})).toEqual(['127.0.0.1']);
  });
});
