// Identity kept in a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) so that
// in-cluster components mount it like any other TLS Secret. Metadata that is not PEM
// rides in annotations. One create-or-replace request: atomic by construction.
import type { SecretAccess } from '../kube/secrets.ts';
import { statusOfFailure } from '../kube/kube-failure.ts';
import { AgentError } from '../errors.ts';

/** A write refused because its namespace does not exist (Status NotFound, details.kind namespaces). */
function namespaceMissing(err: unknown): boolean {
  if (!(err instanceof AgentError) || err.status !== 404) return false;
  const s = statusOfFailure(err.cause);
  return s?.detailsKind === 'namespaces';
}
import { checkStoredIdentity, type IdentityStore, type StoredIdentity } from './identity-store.ts';

const ANNOTATION = 'plexus.io/';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

export class SecretIdentityStore implements IdentityStore {
  readonly location: string;
  private readonly secrets: SecretAccess;
  private readonly namespace: string;
  private readonly name: string;
  private readonly createNamespace: boolean;

  /**
   * `createNamespace`: preflight creates a missing namespace (`plexus agent join --kubeconfig`,
   * an operator's own credentials). Off where the namespace is the agent's own (in-cluster):
   * an agent never asks for the right to create namespaces.
   */
  constructor(secrets: SecretAccess, namespace: string, name: string, o: { createNamespace?: boolean } = {}) {
    this.secrets = secrets;
    this.namespace = namespace;
    this.name = name;
    this.createNamespace = o.createNamespace ?? false;
    this.location = `Secret ${namespace}/${name} (${secrets.description})`;
  }

  async load(): Promise<StoredIdentity | null> {
    const secret = await this.secrets.read(this.namespace, this.name);
    if (!secret) return null;
    const a = secret.metadata?.annotations ?? {};
    const d = secret.data ?? {};
    try {
      return checkStoredIdentity({
        clusterId: a[`${ANNOTATION}cluster-id`],
        identity: a[`${ANNOTATION}identity`],
        brokerUrl: a[`${ANNOTATION}broker-url`],
        notAfter: a[`${ANNOTATION}not-after`],
        certPem: unb64(d['tls.crt']),
        keyPem: unb64(d['tls.key']),
        trustBundle: unb64(d['ca.crt']),
      }, this.location);
    } catch (err) {
      throw new AgentError('PLX_AGENT_IDENTITY_STORE', (err as Error).message, { cause: err });
    }
  }

  /**
   * A server-side dry run of the same write: namespace, RBAC and admission all answer. A
   * missing namespace is created first when allowed (only then: no namespace write when
   * it exists), or named in one line with the command that fixes it.
   */
  async preflight(): Promise<void> {
    try {
      await this.dryRun();
    } catch (err) {
      if (!namespaceMissing(err)) throw err;
      if (this.createNamespace && await this.secrets.createNamespace(this.namespace) !== 'forbidden') return this.dryRun();
      throw new AgentError('PLX_AGENT_NAMESPACE_MISSING', `namespace ${this.namespace} does not exist on ${this.secrets.description}`
        + `${this.createNamespace ? ' and these credentials may not create it' : ''}: run \`kubectl create namespace ${this.namespace}\``
        + ' as someone who may (or pass --namespace with an existing one), then join again', { cause: err });
    }
  }

  private async dryRun(): Promise<void> {
    const placeholder = 'preflight';
    await this.secrets.write(this.toSecret({
      clusterId: placeholder, identity: placeholder, brokerUrl: placeholder, notAfter: placeholder,
      certPem: placeholder, keyPem: placeholder, trustBundle: placeholder,
    }), { dryRun: true });
  }

  async save(id: StoredIdentity): Promise<void> {
    await this.secrets.write(this.toSecret(id));
  }

  private toSecret(id: StoredIdentity) {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'plexus', 'app.kubernetes.io/component': 'agent-identity' },
        annotations: {
          [`${ANNOTATION}cluster-id`]: id.clusterId,
          [`${ANNOTATION}identity`]: id.identity,
          [`${ANNOTATION}broker-url`]: id.brokerUrl,
          [`${ANNOTATION}not-after`]: id.notAfter,
        },
      },
      data: { 'tls.crt': b64(id.certPem), 'tls.key': b64(id.keyPem), 'ca.crt': b64(id.trustBundle) },
    };
  }
}
