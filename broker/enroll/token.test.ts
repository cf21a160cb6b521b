import { describe, expect, it } from 'vitest';
import { tokenSchema } from '../api/types.ts';
import { generateToken, hashTokenSecret, parseToken, tokenSecretMatches } from './token.ts';

describe('join tokens', () => {
  it('have the wire format and round-trip through parseToken', () => {
    const g = generateToken();
    expect(tokenSchema.safeParse(g.token).success).toBe(true);
    expect(g.token).toMatch(/^plx1\.[a-z0-9]{8}\.[A-Za-z0-9_-]{43}$/);
    expect(parseToken(g.token)).toEqual({ id: g.id, secret: g.secret });
  });

  it('are unique and only their hash is kept', () => {
    const a = generateToken();
    const b = generateToken();
    expect(a.token).not.toBe(b.token);
    expect(a.secretHash).toHaveLength(32);
    expect(Buffer.from(a.secretHash).toString('base64url')).not.toBe(a.secret);
    expect(hashTokenSecret(a.secret)).toEqual(a.secretHash);
  });

  it('match only their own secret', () => {
    const a = generateToken();
    const b = generateToken();
    expect(tokenSecretMatches(a.secret, a.secretHash)).toBe(true);
    expect(tokenSecretMatches(b.secret, a.secretHash)).toBe(false);
    expect(tokenSecretMatches(a.secret, new Uint8Array(16))).toBe(false);
  });

  it.each(['', 'plx1.short.x', 'plx2.abcdefgh.' + 'a'.repeat(43), 'plx1.ABCDEFGH.' + 'a'.repeat(43), 'plx1.abcdefgh.' + 'a'.repeat(42)])(
    'rejects malformed token %j with PLX_BROKER_TOKEN_INVALID', (s) => {
      expect(() => parseToken(s)).toThrow(expect.objectContaining({ code: 'PLX_BROKER_TOKEN_INVALID' }));
    });
});
