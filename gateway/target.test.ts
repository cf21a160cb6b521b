import { describe, expect, it } from 'vitest';
import { formatTarget, parseTarget } from './target.ts';

describe('parseTarget (the CONNECT authority)', () => {
  it('reads <name>.<namespace>.svc:<port> and formats it back identically', () => {
    expect(parseTarget('web.shop.svc:8080')).toEqual({ name: 'web', namespace: 'shop', port: 8080 });
    expect(formatTarget(parseTarget('a-1.0ns.svc:1')!)).toBe('a-1.0ns.svc:1');
    expect(parseTarget('web.shop.svc:65535')?.port).toBe(65535);
  });

  it.each([
    ['an IPv4 address', '10.0.0.1:80'],
    ['an IPv6 address', '[::1]:80'],
    ['a host name', 'example.com:443'],
    ['a cluster.local name', 'web.shop.svc.cluster.local:80'],
    ['a trailing dot', 'web.shop.svc.:80'],
    ['upper case (no normalising)', 'Web.shop.svc:80'],
    ['a port with a leading zero', 'web.shop.svc:080'],
    ['port 0', 'web.shop.svc:0'],
    ['a port above 65535', 'web.shop.svc:65536'],
    ['no port', 'web.shop.svc'],
    ['a service name starting with a digit', '1web.shop.svc:80'],
    ['a percent-encoded name', 'w%65b.shop.svc:80'],
    ['an empty authority', ''],
    ['user info', 'x@web.shop.svc:80'],
    ['a label over 63 characters', `${'a'.repeat(64)}.shop.svc:80`],
  ])('refuses %s as bad-target', (_what, authority) => {
    expect(parseTarget(authority)).toBeUndefined();
  });

  it('refuses a missing authority', () => {
    expect(parseTarget(undefined)).toBeUndefined();
  });
});
