// Wire contract of shared identities for people: invitations (admin), login with a
// one-time token plus a CSR, renewal with the current certificate, and the revocation
// list agents read at start. Shared by broker/, agent/ and the user CLI.
//
//   POST   /v1/admin/users               InviteUserRequest  -> InviteUserResponse   (admin identity)
//   GET    /v1/admin/users                                  -> UserListResponse     (admin identity)
//   DELETE /v1/admin/users/:name                            -> UserInfo             (admin; revoke, idempotent)
//   POST   /v1/users/login               UserLoginRequest   -> UserIdentityResponse (no client certificate; the token authenticates)
//   POST   /v1/users/renew               UserRenewRequest   -> UserIdentityResponse (user identity, not revoked)
//   GET    /v1/users/revoked                                -> RevokedUserList      (cluster identity)
// Revocations also flow on the catalog watch stream as `user-revoked` events (catalog.ts).
// The broker decides names and groups from the invitation: a CSR contributes only its key.
import { z } from 'zod';
import { userGroupSchema, userNameSchema } from './names.ts';
import { pemSchema, tokenInfoSchema, tokenSchema } from './types.ts';

export { userGroupSchema, userNameSchema };

export const inviteUserRequestSchema = z.object({
  name: userNameSchema,
  groups: z.array(userGroupSchema).max(32).default([]),
  ttlSeconds: z.number().int().min(60).max(7 * 24 * 3600).default(8 * 3600),
}).strict();
export type InviteUserRequest = z.input<typeof inviteUserRequestSchema>;

export const inviteUserResponseSchema = z.object({
  token: z.string(),               // shown once; only its hash is stored
  info: tokenInfoSchema,
  name: userNameSchema,
  groups: z.array(userGroupSchema),
  caFingerprint: z.string(),
});
export type InviteUserResponse = z.infer<typeof inviteUserResponseSchema>;

export const userInfoSchema = z.object({
  name: userNameSchema,
  groups: z.array(userGroupSchema),
  /** invited: no login yet; active: has logged in; revoked: refused everywhere, for good. */
  state: z.enum(['invited', 'active', 'revoked']),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
});
export type UserInfo = z.infer<typeof userInfoSchema>;
export const userListResponseSchema = z.object({ users: z.array(userInfoSchema) });

export const userLoginRequestSchema = z.object({ token: tokenSchema, csr: pemSchema }).strict();
export type UserLoginRequest = z.infer<typeof userLoginRequestSchema>;
export const userRenewRequestSchema = z.object({ csr: pemSchema }).strict();
export type UserRenewRequest = z.infer<typeof userRenewRequestSchema>;

export const userIdentityResponseSchema = z.object({
  name: userNameSchema,
  groups: z.array(userGroupSchema),
  clusterset: z.string(),
  identity: z.string(),            // spiffe://<clusterset>/user/<name>
  certificate: z.string(),         // PEM leaf (clientAuth), O=<groups>
  trustBundle: z.string(),
  notAfter: z.string(),
});
export type UserIdentityResponse = z.infer<typeof userIdentityResponseSchema>;

export const revokedUserSchema = z.object({ name: userNameSchema, revokedAt: z.string() });
export type RevokedUser = z.infer<typeof revokedUserSchema>;
export const revokedUserListSchema = z.object({ users: z.array(revokedUserSchema) });
export type RevokedUserList = z.infer<typeof revokedUserListSchema>;

export const userPaths = {
  login: '/v1/users/login',
  renew: '/v1/users/renew',
  revoked: '/v1/users/revoked',
  adminUsers: '/v1/admin/users',
  adminUser: (name: string) => `/v1/admin/users/${encodeURIComponent(name)}`,
} as const;

/** Kubernetes subjects a shared identity becomes: never a `system:` user or group. */
export const SUBJECT_PREFIX = 'plexus:';
