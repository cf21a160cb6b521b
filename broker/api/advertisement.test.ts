import { describe, expect, it } from 'vitest';
import { clusterAdvertisementInputSchema, gatewayAddressSchema } from './advertisement.ts';

describe('advertisement network and gateway fields', () => {
  it('accepts a network label and a routable gateway host:port', () => {
    const ok = clusterAdvertisementInputSchema.parse({ cluster: 'east', network: 'net-b', gateway: '203.0.113.5:15443' });
    expect(ok).toMatchObject({ network: 'net-b', gateway: '203.0.113.5:15443' });
    expect(gatewayAddressSchema.safeParse('gw.example.com:443').success).toBe(true);
    expect(gatewayAddressSchema.safeParse('[2001:db8::1]:443').success).toBe(true);
  });

  it('refuses gateways other clusters must not be made to dial (loopback, link-local metadata, unspecified) and bad forms', () => {
    for (const bad of ['127.0.0.1:15443', 'localhost:1', '169.254.169.254:80', '[::1]:443', '[fe80::1]:443', '0.0.0.0:443', '10.0.0.1:0', '10.0.0.1', 'https://x:1']) {
      expect(gatewayAddressSchema.safeParse(bad).success, bad).toBe(false);
    }
    expect(clusterAdvertisementInputSchema.safeParse({ cluster: 'east', network: 'Not_A_Label' }).success).toBe(false);
  });
});
