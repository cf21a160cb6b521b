// A crashed real-node lab does not poison the next one: the driver, its watchdogs, its
// components and its reaper all SIGKILLed (containers and shims left running, mounts,
// namespaces, veths and cgroups left in place, host sysctls changed by the kubelet), then
// a new lab starts, runs and stops, and the host is as it was before either.
// Needs root and `npm run nodes:install`; runs with `npm run test:nodes`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { startClusters } from '../harness/index.ts';
import { labRunDir } from '../harness/lab-host.ts';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const SYSCTLS = ['vm.overcommit_memory', 'kernel.panic', 'kernel.panic_on_oops', 'fs.inotify.max_user_instances'];
const HOST_DIRS = ['/var/log/containers', '/var/log/pods', '/var/lib/cni', '/run/containerd'];

interface HostState {
  netns: string[];
  links: string[];
  cgroups: string[];
  sysctls: Record<string, string>;
  hostDirs: Record<string, boolean>;
  slots: string[];
}

function hostState(): HostState {
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith('plx'));
  const links = readdirSync('/sys/class/net').filter((n) => n.startsWith('plx'));
  const cgroups = readdirSync('/sys/fs/cgroup').flatMap((h) => {
    try {
      return readdirSync(path.join('/sys/fs/cgroup', h)).filter((n) => n.startsWith('plx')).map((n) => `${h}/${n}`);
    } catch {
      return [];
    }
  });
  const sysctls = Object.fromEntries(SYSCTLS.map((s) => [s, readFileSync(`/proc/sys/${s.replaceAll('.', '/')}`, 'utf8').trim()]));
  const hostDirs = Object.fromEntries(HOST_DIRS.map((d) => [d, existsSync(d)]));
  const slots = existsSync(labRunDir()) ? readdirSync(labRunDir()).filter((f) => f.startsWith('slot-')) : [];
  return { netns, links, cgroups, sysctls, hostDirs, slots };
}

/** Pids of processes whose command line names something below `dir`. */
function processesNaming(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${dir}/`);
    } catch {
      return false;
    }
  }).map(Number);
}

function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((m) => m.startsWith(`${dir}/`));
}

interface UpInfo { pid: number; dir: string; resources: { pids: number[] } }

/** Starts `cluster-up --nodes --json` as its own process and reads its one JSON line. */
function startDriver(): Promise<UpInfo> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/harness/cluster-up.ts'), '--clusters', '1', '--nodes', '--no-crds', '--json'],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const err: string[] = [];
  child.stderr.on('data', (b: Buffer) => err.push(b.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as UpInfo));
    child.once('exit', (code) => reject(new Error(`cluster-up exited ${code}: ${err.join('')}`)));
  });
}

describe('real-node lab teardown', () => {
  it('a lab whose driver (left an unreaped zombie, which once counted as alive), watchdogs and reaper were all SIGKILLed is undone by the next start, and that one stops clean', async () => {
    const before = hostState();
    const crashed = await startDriver();
    expect(mountsBelow(crashed.dir).length).toBeGreaterThan(0);
    expect(hostState().sysctls).not.toEqual({});
    for (const pid of [crashed.pid, ...crashed.resources.pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // What the crash left: the containers and shims of the CoreDNS pod at least.
    expect(processesNaming(crashed.dir).length).toBeGreaterThan(0);

    const set = await startClusters(1, { nodes: true, installCrds: false });
    try {
      expect(processesNaming(crashed.dir)).toEqual([]);
      expect(mountsBelow(crashed.dir)).toEqual([]);
      expect(existsSync(crashed.dir)).toBe(false);
      expect(set.lab?.host.slot).toBeGreaterThanOrEqual(0);
    } finally {
      await set.stop();
    }
    expect(processesNaming(set.dir)).toEqual([]);
    expect(mountsBelow(set.dir)).toEqual([]);
    expect(existsSync(set.dir)).toBe(false);
    expect(hostState()).toEqual(before);
  }, 300_000);

  it('stop ends each kube-apiserver with SIGTERM, not the SIGKILL after 15 s (a pod\'s open watch once held it in graceful shutdown)', async () => {
    const set = await startClusters(1, { nodes: true, installCrds: false });
    const apiServers = set.components().filter((c) => c.name.startsWith('kube-apiserver-'));
    await set.stop();
    for (const c of apiServers) expect((await c.exited())?.signal).toBeNull();
  }, 300_000);
});
