// Where an agent keeps its cluster identity: a Kubernetes Secret when it can reach its
// cluster, a 0600 file otherwise. Both write atomically: a reader sees the old identity
// or the new one, never half of each.

export interface StoredIdentity {
  clusterId: string;
  /** spiffe://<clusterset>/cluster/<id> */
  identity: string;
  brokerUrl: string;
  certPem: string;
  keyPem: string;
  trustBundle: string;
  notAfter: string;
}

export interface IdentityStore {
  /** Human-readable location, for messages. */
  readonly location: string;
  load(): Promise<StoredIdentity | null>;
  /** Proves a later save() can succeed (location exists, permissions), writing nothing. */
  preflight(): Promise<void>;
  save(identity: StoredIdentity): Promise<void>;
}

const fields = ['clusterId', 'identity', 'brokerUrl', 'certPem', 'keyPem', 'trustBundle', 'notAfter'] as const;

/** Rejects stored data that is not a complete identity, instead of failing later. */
export function checkStoredIdentity(value: unknown, location: string): StoredIdentity {
  const v = value as Record<string, unknown> | null;
  const missing = fields.filter((f) => typeof v?.[f] !== 'string' || v[f] === '');
  if (missing.length > 0) throw new Error(`identity at ${location} is incomplete (missing ${missing.join(', ')})`);
  return Object.fromEntries(fields.map((f) => [f, v![f]])) as unknown as StoredIdentity;
}
