// A row of the `tokens` table as a TokenRecord: join tokens (sqlite-store.ts) and person
// invitations (sqlite-user-store.ts) share the table, so they share the mapping.
import type { TokenKind, TokenRecord } from '../enroll/token-record.ts';

const date = (v: unknown): Date | null => (v === null || v === undefined ? null : new Date(Number(v)));

export function toTokenRecord(r: Record<string, unknown>): TokenRecord {
  return {
    id: String(r.id),
    kind: r.kind as TokenKind,
    subject: String(r.subject),
    secretHash: new Uint8Array(r.secret_hash as Uint8Array),
    createdAt: date(r.created_at)!,
    expiresAt: date(r.expires_at)!,
    usedAt: date(r.used_at),
    revokedAt: date(r.revoked_at),
  };
}
