// People of an e2e mesh, the way a person gets in: invited with the real CLI (`plexus broker
// user invite`), logged in (`plexus login`), a kubeconfig written by `plexus kubeconfig`, and
// the real kubectl of the pinned release run with it against the agents' access proxies.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { resolveBinaries } from '../../harness/binaries.ts';
import { plexus } from '../../support/plexus-process.ts';
import type { Mesh } from './mesh.ts';
import { waitFor } from '../../harness/wait-for.ts';

export interface Person {
  readonly name: string;
  /** `--config-dir` of `plexus login`: user.crt, user.key, kubeconfig.yaml, kubectl's cache. */
  readonly dir: string;
  readonly kubeconfig: string;
}

export interface KubectlRun { code: number; stdout: string; stderr: string }

/** Invites `name` into `groups`, logs in under `dir` and waits until the kubeconfig names every cluster of the mesh. */
export async function loginPerson(mesh: Mesh, name: string, groups: readonly string[], dir: string): Promise<Person> {
  const inv = JSON.parse(await plexus(['broker', 'user', 'invite', name, ...groups.flatMap((g) => ['--group', g]),
    '--data-dir', mesh.brokerDir, '--output', 'json'])) as { token: string; caFingerprint: string; broker: string };
  await plexus(['login', '--broker', inv.broker, '--token', inv.token, '--ca-fingerprint', inv.caFingerprint, '--config-dir', dir]);
  const p = { name, dir, kubeconfig: path.join(dir, 'kubeconfig.yaml') };
  // Agents advertise their proxy URL shortly after start: re-run until every cluster is there.
  await waitFor(async () => {
    const out = JSON.parse(await plexus(['kubeconfig', '--output', p.kubeconfig, '--config-dir', dir, '--format', 'json'])) as { contexts: string[] };
    return out.contexts.length === mesh.clusters.length;
  }, { what: `kubeconfig of ${name} names all ${mesh.clusters.length} clusters`, timeoutMs: 60_000 });
  return p;
}

/** The real kubectl with `p`'s kubeconfig; never throws on a non-zero exit. */
export function kubectlAs(p: Person, args: readonly string[], o: { requestTimeout?: string } = {}): Promise<KubectlRun> {
  const argv = ['--kubeconfig', p.kubeconfig, '--cache-dir', path.join(p.dir, 'kube-cache'), '--request-timeout', o.requestTimeout ?? '20s', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(resolveBinaries().kubectl, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}
