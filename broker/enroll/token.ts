// Join-token format: plx1.<id>.<secret>. The 8-character id names the stored row; the
// 32-byte secret (43 base64url characters) is shown once and only its SHA-256 is stored,
// so a leaked store cannot be replayed as tokens.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { tokenSchema } from '../api/types.ts';
import { BrokerError } from '../errors.ts';

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ID_LENGTH = 8;
const SECRET_BYTES = 32;

export interface ParsedToken {
  readonly id: string;
  readonly secret: string;
}

export interface GeneratedToken extends ParsedToken {
  readonly token: string;
  readonly secretHash: Uint8Array;
}

export function generateTokenId(): string {
  let id = '';
  for (let i = 0; i < ID_LENGTH; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function generateToken(): GeneratedToken {
  const id = generateTokenId();
  const secret = randomBytes(SECRET_BYTES).toString('base64url');
  return { id, secret, token: `plx1.${id}.${secret}`, secretHash: hashTokenSecret(secret) };
}

/** Splits a token; a malformed one is PLX_BROKER_TOKEN_INVALID (never echoing it back). */
export function parseToken(token: string): ParsedToken {
  if (!tokenSchema.safeParse(token).success) throw new BrokerError('PLX_BROKER_TOKEN_INVALID', 'malformed join token');
  const [, id, secret] = token.split('.');
  return { id: id!, secret: secret! };
}

export function hashTokenSecret(secret: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(secret, 'utf8').digest());
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function tokenSecretMatches(secret: string, storedHash: Uint8Array): boolean {
  const presented = hashTokenSecret(secret);
  return presented.length === storedHash.length && timingSafeEqual(presented, storedHash);
}
