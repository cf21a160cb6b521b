import { describe, expect, it } from 'vitest';
import { checkHttpsUrl, dialableHost, dialableUrl, httpsUrlSchema, parseHostPort } from './addresses.ts';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:0', { host: '127.0.0.1', port: 0 }],
    ['0.0.0.0:7443', { host: '0.0.0.0', port: 7443 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['[fd00::1]:53', { host: 'fd00::1', port: 53 }],
    ['broker.acme.example:443', { host: 'broker.acme.example', port: 443 }],
    ['Broker.Acme.example:443', { host: 'Broker.Acme.example', port: 443 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
  ])('parses %s', (s, want) => {
    expect(parseHostPort('listen', s)).toEqual(want);
  });

  it.each([
    ['7443', 'listen "7443" must be HOST:PORT (use [addr]:PORT for IPv6)'],
    ['host:', 'listen "host:" must be HOST:PORT (use [addr]:PORT for IPv6)'],
    [':7443', 'listen ":7443" must be HOST:PORT (use [addr]:PORT for IPv6)'],
    ['::1:8443', 'listen "::1:8443" must be HOST:PORT (use [addr]:PORT for IPv6)'],
    ['host:70000', 'listen port 70000 is out of range 0-65535'],
    ['[nothost]:1', 'listen host "nothost" in brackets must be an IPv6 address'],
    ['[127.0.0.1]:1', 'listen host "127.0.0.1" in brackets must be an IPv6 address'],
    ['a_b:1', 'listen host "a_b" is neither an IP address nor a DNS name'],
    ['-a:1', 'listen host "-a" is neither an IP address nor a DNS name'],
  ])('refuses %s with one line naming it', (s, problem) => {
    expect(parseHostPort('listen', s)).toBe(problem);
  });
});

describe('dialable host', () => {
  it('dials a wildcard listen address on loopback, IPv6 in brackets', () => {
    expect(dialableUrl('http', '0.0.0.0', 9090)).toBe('http://127.0.0.1:9090');
    expect(dialableUrl('https', '::', 8443)).toBe('https://[::1]:8443');
    expect(dialableUrl('https', 'fd00::1', 1)).toBe('https://[fd00::1]:1');
    expect(dialableUrl('http', 'agent.local', 2)).toBe('http://agent.local:2');
  });

  it('keeps every other host as it is', () => {
    expect(dialableHost('10.0.0.5')).toBe('10.0.0.5');
    expect(dialableHost('::1')).toBe('::1');
    expect(dialableHost('broker.example')).toBe('broker.example');
  });
});

describe('checkHttpsUrl', () => {
  it.each(['https://broker.example:7443', 'https://10.0.0.5:7443', 'https://[fd00::1]:7443', 'https://[::1]:1/', 'HTTPS://broker.example'])('accepts %s', (raw) => {
    const r = checkHttpsUrl('broker URL', raw);
    expect(r.ok).toBe(true);
  });

  it.each([
    ['http://broker.example:7443', 'not-https', 'broker URL must use https, not http:'],
    ['ftp://broker.example', 'not-https', 'broker URL must use https, not ftp:'],
    ['broker.example:7443', 'not-https', 'broker URL must use https, not broker.example:'],
    ['nope', 'not-a-url', 'broker URL "nope" is not a URL (expected https://HOST:PORT)'],
    ['', 'not-a-url', 'broker URL "" is not a URL (expected https://HOST:PORT)'],
    ['https://[fd00::1', 'not-a-url', 'broker URL "https://[fd00::1" is not a URL (expected https://HOST:PORT)'],
    ['https://admin:secret@broker.example:7443', 'userinfo', 'broker URL must not carry a user name or password'],
    ['https://admin@broker.example:7443', 'userinfo', 'broker URL must not carry a user name or password'],
  ])('refuses %s (%s)', (raw, problem, message) => {
    expect(checkHttpsUrl('broker URL', raw)).toEqual({ ok: false, problem, message });
  });
});

describe('httpsUrlSchema (advertised probe and proxy URLs)', () => {
  it('is the same rule on the wire', () => {
    expect(httpsUrlSchema.safeParse('https://[fd00::1]:8443').success).toBe(true);
    for (const bad of ['http://10.0.0.1:8443', 'https://u:p@10.0.0.1:8443', 'nope', `https://a.example/${'x'.repeat(2048)}`]) {
      expect(httpsUrlSchema.safeParse(bad).success).toBe(false);
    }
  });
});
