// Where the pinned control-plane binaries live: the cache that scripts/control-plane.sh
// fills, ${PLEXUS_CACHE_DIR:-~/.cache/plexus}/k8s/v<K8S_VERSION>/.
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HarnessError } from './errors.ts';

export interface Binaries {
  readonly dir: string;
  readonly kubeApiServer: string;
  readonly kubectl: string;
  readonly etcd: string;
  readonly coredns: string;
  readonly k8sVersion: string;
  readonly etcdVersion: string;
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..');

/** Reads scripts/control-plane.versions (KEY=value lines). */
export function pinnedVersions(file = path.join(repoRoot, 'scripts', 'control-plane.versions')): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(\S+)\s*$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves the binaries, or throws PLX_HARNESS_BINARIES_MISSING naming the install command. */
export function resolveBinaries(env: NodeJS.ProcessEnv = process.env): Binaries {
  const versions = pinnedVersions();
  const k8sVersion = versions.K8S_VERSION;
  const etcdVersion = versions.ETCD_VERSION;
  if (!k8sVersion || !etcdVersion) {
    throw new HarnessError('PLX_HARNESS_BINARIES_MISSING', 'scripts/control-plane.versions lacks K8S_VERSION or ETCD_VERSION');
  }
  const cacheRoot = env.PLEXUS_CACHE_DIR || path.join(os.homedir(), '.cache', 'plexus');
  const dir = path.join(cacheRoot, 'k8s', `v${k8sVersion}`);
  const bins = {
    dir, k8sVersion, etcdVersion,
    kubeApiServer: path.join(dir, 'kube-apiserver'),
    kubectl: path.join(dir, 'kubectl'),
    etcd: path.join(dir, 'etcd'),
    coredns: path.join(dir, 'coredns'),
  };
  const missing = [bins.kubeApiServer, bins.kubectl, bins.etcd].filter((f) => !isExecutable(f));
  if (missing.length) {
    throw new HarnessError('PLX_HARNESS_BINARIES_MISSING',
      `control-plane binaries missing: ${missing.map((f) => path.basename(f)).join(', ')} (looked in ${dir}); ` +
      'run `npm run control-plane:install` to build or fetch them');
  }
  return bins;
}

export interface NodeBinaries extends Binaries {
  readonly kubelet: string;
  readonly kubeProxy: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly coredns: string;
  readonly cacheRoot: string;
  readonly versions: Record<string, string>;
}

/** The control-plane binaries plus the real-node lab's (scripts/real-nodes.sh builds them). */
export function resolveNodeBinaries(env: NodeJS.ProcessEnv = process.env): NodeBinaries {
  const bins = resolveBinaries(env);
  const nodeBins = {
    kubelet: path.join(bins.dir, 'kubelet'),
    kubeProxy: path.join(bins.dir, 'kube-proxy'),
    kubeControllerManager: path.join(bins.dir, 'kube-controller-manager'),
    kubeScheduler: path.join(bins.dir, 'kube-scheduler'),
  };
  const missing = [...Object.values(nodeBins), bins.coredns].filter((f) => !isExecutable(f));
  if (missing.length) {
    throw new HarnessError('PLX_HARNESS_BINARIES_MISSING',
      `real-node binaries missing: ${missing.map((f) => path.basename(f)).join(', ')} (looked in ${bins.dir}); ` +
      'run `npm run nodes:install` to build them and the lab images');
  }
  return { ...bins, ...nodeBins, cacheRoot: env.PLEXUS_CACHE_DIR || path.join(os.homedir(), '.cache', 'plexus'), versions: pinnedVersions() };
}
