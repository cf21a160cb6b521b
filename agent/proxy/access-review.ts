// Asks the local API server whether a person may impersonate someone (kubectl --as), as
// that person: one SubjectAccessReview per impersonated attribute, for the prefixed
// plexus: user and groups (plus system:authenticated, which every impersonated user gets).
// The attributes are the API server's own (k8s.io/apiserver impersonation filter), so the
// proxy asks exactly what the API server would ask of that person:
//   user                              → ""/users, name = the user
//   system:serviceaccount:<ns>:<name> → ""/serviceaccounts in <ns>, name = <name>
//   each group                        → ""/groups, name = the group
//   uid                               → authentication.k8s.io/uids, name = the uid
//   each extra key/value              → authentication.k8s.io/userextras/<key>, name = the value
// The answer is the cluster's own RBAC; the proxy never decides authorization itself.
import type { IncomingMessage } from 'node:http';
import { isDnsLabel, isDnsSubdomain } from '../../broker/api/names.ts';
import { SUBJECT_PREFIX } from '../../broker/api/users.ts';
import type { ProxyIdentity } from './authn.ts';
import type { AsRequest } from './impersonation.ts';
import type { Upstream } from './upstream.ts';

export interface ImpersonationReview {
  /** True only if every requested attribute may be impersonated by `identity`. */
  allows(identity: ProxyIdentity, as: AsRequest): Promise<boolean>;
}

/** A SubjectAccessReview's resourceAttributes for verb impersonate. */
export interface ImpersonationCheck {
  readonly group: '' | 'authentication.k8s.io';
  readonly resource: 'users' | 'serviceaccounts' | 'groups' | 'uids' | 'userextras';
  readonly subresource?: string;
  readonly namespace?: string;
  readonly name: string;
}

const SA_PREFIX = 'system:serviceaccount:';

/**
 * `{ namespace, name }` of a service account user name as the API server splits it, or
 * undefined when `user` does not name one. A name with the prefix that this does not
 * accept makes the whole request unanswerable (null): the proxy refuses it rather than
 * guess which way the API server reads it.
 */
export function serviceAccountOf(user: string): { namespace: string; name: string } | undefined | null {
  if (!user.startsWith(SA_PREFIX)) return undefined;
  const parts = user.slice(SA_PREFIX.length).split(':');
  if (parts.length !== 2) return null;
  const [namespace, name] = parts as [string, string];
  if (!isDnsLabel(namespace) || !isDnsSubdomain(name)) return null;
  return { namespace, name };
}

/** Every check the API server makes for `as`, or null when the request cannot be mapped (refused). */
export function impersonationChecks(as: AsRequest): ImpersonationCheck[] | null {
  const sa = serviceAccountOf(as.user);
  if (sa === null) return null;
  const checks: ImpersonationCheck[] = [sa
    ? { group: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name }
    : { group: '', resource: 'users', name: as.user }];
  for (const g of as.groups) checks.push({ group: '', resource: 'groups', name: g });
  for (const [key, values] of Object.entries(as.extra)) {
    for (const v of values) checks.push({ group: 'authentication.k8s.io', resource: 'userextras', subresource: key, name: v });
  }
  if (as.uid !== undefined) checks.push({ group: 'authentication.k8s.io', resource: 'uids', name: as.uid });
  return checks;
}

const SAR_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

export class SubjectAccessReviewer implements ImpersonationReview {
  readonly #upstream: Upstream;

  constructor(upstream: Upstream) {
    this.#upstream = upstream;
  }

  async allows(identity: ProxyIdentity, as: AsRequest): Promise<boolean> {
    const checks = impersonationChecks(as);
    if (checks === null) return false;
    const answers = await Promise.all(checks.map((c) => this.#review(identity, c)));
    return answers.every(Boolean);
  }

  async #review(identity: ProxyIdentity, check: ImpersonationCheck): Promise<boolean> {
    const body = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: {
        user: `${SUBJECT_PREFIX}${identity.user}`,
        groups: [...identity.groups.map((g) => `${SUBJECT_PREFIX}${g}`), 'system:authenticated'],
        resourceAttributes: { verb: 'impersonate', ...check },
      },
    });
    const req = this.#upstream.request({ method: 'POST', path: SAR_PATH, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.once('response', resolve);
      req.once('error', reject);
      req.end(body);
    });
    let text = '';
    for await (const chunk of res) text += chunk;
    if ((res.statusCode ?? 500) >= 300) return false;
    return (JSON.parse(text) as { status?: { allowed?: boolean } }).status?.allowed === true;
  }
}
