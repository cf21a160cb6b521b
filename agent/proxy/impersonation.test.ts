import { describe, expect, it } from 'vitest';
import { impersonationHeaders, upstreamHeaders } from './impersonation.ts';

const alice = { user: 'alice', groups: ['dev', 'system:masters'], notAfter: new Date(0) };

describe('upstreamHeaders', () => {
  it('adds prefixed impersonation for the user and every group (no system: subject is reachable)', () => {
    const d = upstreamHeaders(['Accept', 'application/json', 'User-Agent', 'kubectl'], alice, { upgrade: false });
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.headers['impersonate-user']).toBe('plexus:alice');
    expect(d.headers['impersonate-group']).toEqual(['plexus:dev', 'plexus:system:masters']);
    expect(d.headers.accept).toBe('application/json');
    expect(d.headers['user-agent']).toBe('kubectl');
  });

  it('omits Impersonate-Group for a user without groups', () => {
    expect(impersonationHeaders({ user: 'bob', groups: [], notAfter: new Date(0) })).toEqual({ 'impersonate-user': 'plexus:bob' });
  });

  it.each([
    ['Impersonate-User', 'admin'],
    ['impersonate-group', 'system:masters'],
    ['IMPERSONATE-USER', 'x'],
    ['iMpErSoNaTe-Uid', '1'],
    ['Impersonate-Extra-Scopes', 'view'],
    ['Impersonate-Extra-', 'x'],
  ])('refuses the whole request when the client sends %s', (name, value) => {
    const d = upstreamHeaders(['Accept', '*/*', name, value], alice, { upgrade: false });
    expect(d).toMatchObject({ ok: false, header: name });
  });

  it('reports kubectl --as/--as-group as an `as` request with the headers to forward if RBAC allows it', () => {
    const d = upstreamHeaders(['Accept', '*/*', 'Impersonate-User', 'bob', 'Impersonate-Group', 'ops', 'Authorization', 'Bearer x'], alice, { upgrade: false });
    if (d.ok || !d.as) throw new Error('expected an as request');
    expect(d.as.request).toEqual({ user: 'bob', groups: ['ops'], extra: {} });
    expect(d.as.headers).toEqual({ accept: '*/*', 'impersonate-user': 'bob', 'impersonate-group': ['ops'] });
  });

  it('reports --as-uid and Impersonate-Extra-<key> as part of the `as` request, keys as the API server reads them', () => {
    const raw = ['Impersonate-User', 'bob', 'Impersonate-Uid', 'u-1', 'Impersonate-Extra-Scopes', 'view', 'impersonate-extra-scopes', 'edit',
      'Impersonate-Extra-Example.com%2fteam', 'a'];
    const d = upstreamHeaders(raw, alice, { upgrade: false });
    if (d.ok || !d.as) throw new Error('expected an as request');
    expect(d.as.request).toEqual({ user: 'bob', groups: [], uid: 'u-1', extra: { scopes: ['view', 'edit'], 'example.com/team': ['a'] } });
    expect(d.as.headers).toEqual({
      'impersonate-user': 'bob', 'impersonate-uid': 'u-1', 'impersonate-extra-scopes': ['view', 'edit'], 'impersonate-extra-example.com%2fteam': ['a'],
    });
  });

  it.each([
    [['Impersonate-Group', 'system:masters']],
    [['Impersonate-Uid', '0']],
    [['Impersonate-User', 'a', 'Impersonate-User', 'b']],
    [['Impersonate-User', 'a', 'Impersonate-Uid', '0', 'Impersonate-Uid', '1']],
    [['Impersonate-User', 'a', 'Impersonate-Extra-', 'x']],
    [['Impersonate-User', 'a', 'Impersonate-Extra-a%zz', 'x']],
    [['Impersonate-User', 'a', 'Impersonate-Extra-a%ff', 'x']],
    [['Impersonate-User', 'a', 'Impersonate-Whatever', 'x']],
    [['Impersonate-User', ' ']],
  ])('offers no `as` request for %j: refused outright', (raw) => {
    const d = upstreamHeaders(raw, alice, { upgrade: false });
    expect(d.ok).toBe(false);
    expect(!d.ok && d.as).toBeFalsy();
  });

  it('refuses a repeated impersonation header however it is split', () => {
    const raw = ['Impersonate-Group', 'a', 'Accept', '*/*', 'impersonate-group', 'b'];
    expect(upstreamHeaders(raw, alice, { upgrade: false }).ok).toBe(false);
  });

  it('drops client credentials, hop-by-hop headers, front-proxy identity headers and Connection-listed headers', () => {
    const raw = [
      'Authorization', 'Bearer stolen', 'Cookie', 'a=b', 'Host', 'proxy:1', 'Connection', 'keep-alive, X-Secret', 'X-Secret', '1',
      'Keep-Alive', 'timeout=5', 'Transfer-Encoding', 'chunked', 'X-Remote-User', 'root', 'X-Remote-Group', 'system:masters',
      'Content-Type', 'application/json', 'Accept', 'a', 'Accept', 'b',
    ];
    const d = upstreamHeaders(raw, alice, { upgrade: false });
    if (!d.ok) throw new Error('refused');
    expect(Object.keys(d.headers).sort()).toEqual(['accept', 'content-type', 'impersonate-group', 'impersonate-user']);
    expect(d.headers.accept).toEqual(['a', 'b']);
  });

  // Connection: Impersonate-User made Impersonate-User hop-by-hop, yet the proxy read it as
  // kubectl --as (and decided on it) before dropping Connection-listed headers.
  it('a header named in Connection is hop-by-hop: Connection: Impersonate-User plus Impersonate-User is not a --as request', () => {
    const raw = ['Connection', 'keep-alive, Impersonate-User', 'Impersonate-User', 'system:admin', 'Accept', '*/*'];
    const d = upstreamHeaders(raw, alice, { upgrade: false });
    if (!d.ok) throw new Error(`refused as ${d.as ? 'an as request' : d.header}`);
    expect(d.headers['impersonate-user']).toBe('plexus:alice');
    expect(d.headers.accept).toBe('*/*');
  });

  it('drops every header Connection names, in any Connection header and any case, and the standard hop-by-hop set', () => {
    const raw = ['connection', 'X-A', 'CONNECTION', ' x-b ,,X-C', 'x-a', '1', 'X-B', '2', 'x-c', '3', 'Impersonate-Group', 'system:masters',
      'TE', 'trailers', 'Trailer', 'x', 'Proxy-Authorization', 'Basic x', 'Proxy-Connection', 'keep-alive', 'Upgrade', 'h2c', 'X-D', '4'];
    const d = upstreamHeaders([...raw, 'Connection', 'impersonate-group'], alice, { upgrade: false });
    if (!d.ok) throw new Error('refused');
    expect(Object.keys(d.headers).sort()).toEqual(['impersonate-group', 'impersonate-user', 'x-d']);
    expect(d.headers['impersonate-group']).toEqual(['plexus:dev', 'plexus:system:masters']);
  });

  it('keeps Connection: Upgrade and the protocol of an upgrade even when Connection names other headers too', () => {
    const raw = ['Connection', 'Upgrade, Impersonate-User', 'Upgrade', 'SPDY/3.1', 'Impersonate-User', 'system:admin'];
    const d = upstreamHeaders(raw, alice, { upgrade: true });
    if (!d.ok) throw new Error('refused');
    expect(d.headers).toMatchObject({ connection: 'Upgrade', upgrade: 'SPDY/3.1', 'impersonate-user': 'plexus:alice' });
  });

  it('keeps Connection: Upgrade and the protocol for upgrade requests only', () => {
    const raw = ['Connection', 'Upgrade', 'Upgrade', 'SPDY/3.1', 'X-Stream-Protocol-Version', 'v4.channel.k8s.io'];
    const up = upstreamHeaders(raw, alice, { upgrade: true });
    const plain = upstreamHeaders(raw, alice, { upgrade: false });
    if (!up.ok || !plain.ok) throw new Error('refused');
    expect(up.headers.connection).toBe('Upgrade');
    expect(up.headers.upgrade).toBe('SPDY/3.1');
    expect(up.headers['x-stream-protocol-version']).toBe('v4.channel.k8s.io');
    expect(plain.headers.connection).toBeUndefined();
    expect(plain.headers.upgrade).toBeUndefined();
  });
});
