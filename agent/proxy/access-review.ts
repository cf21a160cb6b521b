// Asks the local API server whether a person may impersonate someone (kubectl --as), as
// that person: a SubjectAccessReview for the prefixed plexus: user and groups (plus
// system:authenticated, which every impersonated user gets). The answer is the cluster's
// own RBAC; the proxy never decides authorization itself.
import type { IncomingMessage } from 'node:http';
import { SUBJECT_PREFIX } from '../../broker/api/users.ts';
import type { ProxyIdentity } from './authn.ts';
import type { AsRequest } from './impersonation.ts';
import type { Upstream } from './upstream.ts';

export interface ImpersonationReview {
  /** True only if every requested user and group may be impersonated by `identity`. */
  allows(identity: ProxyIdentity, as: AsRequest): Promise<boolean>;
}

const SAR_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

export class SubjectAccessReviewer implements ImpersonationReview {
  readonly #upstream: Upstream;

  constructor(upstream: Upstream) {
    this.#upstream = upstream;
  }

  async allows(identity: ProxyIdentity, as: AsRequest): Promise<boolean> {
    const checks = [['users', as.user] as const, ...as.groups.map((g) => ['groups', g] as const)];
    const answers = await Promise.all(checks.map(([resource, name]) => this.#review(identity, resource, name)));
    return answers.every(Boolean);
  }

  async #review(identity: ProxyIdentity, resource: 'users' | 'groups', name: string): Promise<boolean> {
    const body = JSON.stringify({
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: {
        user: `${SUBJECT_PREFIX}${identity.user}`,
        groups: [...identity.groups.map((g) => `${SUBJECT_PREFIX}${g}`), 'system:authenticated'],
        resourceAttributes: { verb: 'impersonate', resource, name },
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
