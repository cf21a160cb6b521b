// HTTP routes of shared identities (broker/users/). Who calls each is in the access table
// (route-access.ts): login is open (the one-time token authenticates), renew is for users,
// the revocation list for clusters, invitations for the admin.
import type { FastifyPluginAsync } from 'fastify';
import {
  inviteUserRequestSchema, userLoginRequestSchema, userNameSchema, userPaths, userRenewRequestSchema, type RevokedUserList,
} from '../api/users.ts';
import type { Authenticator } from './authenticate.ts';
import { parseWith } from './parse.ts';
import type { UserStore } from '../users/user-store.ts';
import { loginUser, renewUser, type UserLoginDeps } from '../users/login.ts';
import type { UserRegistry } from '../users/user-registry.ts';

export const userLoginRoutes: FastifyPluginAsync<{ login: UserLoginDeps }> = async (app, { login }) => {
  app.post(userPaths.login, async (request, reply) => {
    const res = await loginUser(login, parseWith(userLoginRequestSchema, request.body));
    request.log.info({ user: res.name, groups: res.groups, notAfter: res.notAfter }, 'user logged in');
    return reply.code(201).send(res);
  });
};

export const userRenewRoutes: FastifyPluginAsync<{ login: UserLoginDeps; auth: Authenticator }> = async (app, { login, auth }) => {
  app.post(userPaths.renew, async (request) => {
    const name = auth.principalOf(request).identity.name;
    const res = await renewUser(login, name, parseWith(userRenewRequestSchema, request.body));
    request.log.info({ user: name, notAfter: res.notAfter }, 'user renewed');
    return res;
  });
};

export const revokedUserRoutes: FastifyPluginAsync<{ store: { readonly users: Pick<UserStore, 'listRevoked'> } }> = async (app, { store }) => {
  app.get(userPaths.revoked, async (): Promise<RevokedUserList> => ({
    users: (await store.users.listRevoked()).map((u) => ({ name: u.name, revokedAt: (u.revokedAt ?? u.createdAt).toISOString() })),
  }));
};

interface NameParams { name: string }

export const userAdminRoutes: FastifyPluginAsync<{ users: UserRegistry }> = async (app, { users }) => {
  app.post(userPaths.adminUsers, async (request, reply) => {
    const res = await users.invite(parseWith(inviteUserRequestSchema, request.body));
    request.log.info({ tokenId: res.info.id, user: res.name, groups: res.groups, expiresAt: res.info.expiresAt }, 'user invited');
    return reply.code(201).send(res);
  });
  app.get(userPaths.adminUsers, async () => ({ users: await users.list() }));
  app.delete<{ Params: NameParams }>(`${userPaths.adminUsers}/:name`, async (request) => {
    const info = await users.revoke(parseWith(userNameSchema, request.params.name));
    request.log.info({ user: info.name }, 'user revoked');
    return info;
  });
};
