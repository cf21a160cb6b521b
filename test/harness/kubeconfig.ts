// Admin kubeconfig files for test clusters. Written as plain YAML (credentials embedded,
// mode 0600) so that both @kubernetes/client-node and the kubectl binary read the same file.
import { writeFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeconfigOptions {
  readonly name: string;              // cluster, user and context name
  readonly server: string;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function renderKubeconfig(o: KubeconfigOptions): string {
  const user = `${o.name}-admin`;
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${o.name}`,
    '  cluster:',
    `    server: ${o.server}`,
    `    certificate-authority-data: ${b64(o.caPem)}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate-data: ${b64(o.certPem)}`,
    `    client-key-data: ${b64(o.keyPem)}`,
    'contexts:',
    `- name: ${o.name}`,
    '  context:',
    `    cluster: ${o.name}`,
    `    user: ${user}`,
    `current-context: ${o.name}`,
    'preferences: {}',
    '',
  ].join('\n');
}

/** Writes the kubeconfig (0600) and returns it loaded. */
export function writeKubeconfig(file: string, o: KubeconfigOptions): KubeConfig {
  writeFileSync(file, renderKubeconfig(o), { mode: 0o600 });
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}
