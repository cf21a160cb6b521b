// A crashed real-node lab does not poison the next one: the driver, its watchdogs, its
// components and its reaper all SIGKILLed (containers and shims left running, mounts,
// namespaces, veths and cgroups left in place, host sysctls changed by the kubelet), then
// a new lab starts, runs and stops, and the host is as it was before either.
// Needs root and `npm run nodes:install`; runs with `npm run test:nodes`.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { startClusters, waitFor } from '../harness/index.ts';
import { labRunDir, sweepLabs } from '../harness/lab-host.ts';

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

/**
 * What labs leave on the host. Other labs may come and go on a shared machine while this
 * runs, so names are kept only for `slots` (plx<slot>-…, plx<slot>h, slot-<slot>.*), and
 * the host-wide settings only while no other lab holds a slot.
 */
function hostState(slots: readonly number[]): HostState {
  const ours = (n: string): boolean => slots.some((s) => n.startsWith(`plx${s}-`) || n === `plx${s}h` || n.startsWith(`slot-${s}.`));
  const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(ours);
  const links = readdirSync('/sys/class/net').filter(ours);
  const cgroups = readdirSync('/sys/fs/cgroup').flatMap((h) => {
    try {
      return readdirSync(path.join('/sys/fs/cgroup', h)).filter(ours).map((n) => `${h}/${n}`);
    } catch {
      return [];
    }
  });
  const allSlots = existsSync(labRunDir()) ? readdirSync(labRunDir()).filter((f) => /^slot-\d+\.owner$/.test(f)) : [];
  const alone = allSlots.every(ours);
  const sysctls = alone ? Object.fromEntries(SYSCTLS.map((s) => [s, readFileSync(`/proc/sys/${s.replaceAll('.', '/')}`, 'utf8').trim()])) : {};
  const hostDirs = alone ? Object.fromEntries(HOST_DIRS.map((d) => [d, existsSync(d)])) : {};
  return { netns, links, cgroups, sysctls, hostDirs, slots: allSlots.filter(ours) };
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

interface UpInfo { pid: number; dir: string; lab: { slot: number }; resources: { pids: number[] } }

/** Starts `cluster-up --nodes --json` (one cluster unless `args` say otherwise) as its own process and reads its one JSON line. */
function startDriver(args: readonly string[] = ['--clusters', '1']): Promise<UpInfo> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'test/harness/cluster-up.ts'), ...args, '--nodes', '--no-crds', '--json'],
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
    const before = hostState([]);             // the host settings, if no other lab runs
    const crashed = await startDriver();
    expect(mountsBelow(crashed.dir).length).toBeGreaterThan(0);
    expect(hostState([crashed.lab.slot]).netns.length).toBeGreaterThan(0);
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
    const slots = [crashed.lab.slot, set.lab!.host.slot];
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
    // A slot we released may already be another lab's (the machine is shared): leave those out.
    const after = hostState(slots.filter((n) => !existsSync(path.join(labRunDir(), `slot-${n}.owner`))));
    expect({ ...after, sysctls: {}, hostDirs: {} }).toEqual({ netns: [], links: [], cgroups: [], slots: [], sysctls: {}, hostDirs: {} });
    // Host-wide settings are compared when no other lab ran at either end (always so in CI).
    if (Object.keys(before.sysctls).length > 0 && Object.keys(after.sysctls).length > 0) expect(after).toEqual(before);
  }, 300_000);

  it('a crashed lab on isolated pod networks (a masquerade rule and an unreachable route in each node) is swept with nothing left, and the host\'s iptables never held either', async () => {
    const crashed = await startDriver(['--clusters', '2', '--pod-networks', 'isolated']);
    const slot = crashed.lab.slot;
    const inNode = (args: string[]): string => execFileSync('ip', ['netns', 'exec', `plx${slot}-2`, ...args], { encoding: 'utf8' });
    expect(inNode(['iptables', '-t', 'nat', '-S', 'POSTROUTING'])).toContain(`-d 172.30.${slot}.0/24 -o eth0 -j MASQUERADE`);
    expect(inNode(['ip', 'route', 'show', 'type', 'unreachable'])).toContain(`10.${200 + slot}.0.0/16`);
    for (const pid of [crashed.pid, ...crashed.resources.pids]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    expect(processesNaming(crashed.dir).length).toBeGreaterThan(0);
    sweepLabs();
    expect(processesNaming(crashed.dir)).toEqual([]);
    expect(mountsBelow(crashed.dir)).toEqual([]);
    expect(existsSync(crashed.dir)).toBe(false);
    const after = hostState(existsSync(path.join(labRunDir(), `slot-${slot}.owner`)) ? [] : [slot]);
    expect({ ...after, sysctls: {}, hostDirs: {} }).toEqual({ netns: [], links: [], cgroups: [], slots: [], sysctls: {}, hostDirs: {} });
    expect(execFileSync('iptables', ['-t', 'nat', '-S'], { encoding: 'utf8' })).not.toContain(`10.${200 + slot}.`);
  }, 300_000);

  it('a lab whose driver was sent SIGKILL but had not finished exiting (kill(2) returns first) is swept by the next start, not taken for a live lab that keeps its containers', async () => {
    // The dying driver is held in that state, deterministically, by a frozen v1 freezer
    // cgroup: SIGKILL stays pending until the cgroup is thawed. A private run dir keeps
    // other labs on the machine (and the host settings) out of it.
    const freezer = path.join('/sys/fs/cgroup/freezer', `plx-teardown-test-${process.pid}`);
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'plx-lab-run-'));
    const labDir = mkdtempSync(path.join(os.tmpdir(), 'plx-lab-dir-'));
    const driver = spawn('sleep', ['600'], { stdio: 'ignore' });
    const container = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', `${labDir}/shim`], { stdio: 'ignore' });
    mkdirSync(freezer);
    try {
      writeFileSync(path.join(freezer, 'cgroup.procs'), String(driver.pid));
      writeFileSync(path.join(freezer, 'freezer.state'), 'FROZEN');
      await waitFor(async () => (readFileSync(path.join(freezer, 'freezer.state'), 'utf8').trim() === 'FROZEN' ? true : undefined), { what: 'the driver frozen', timeoutMs: 10_000 });
      const startTime = readFileSync(`/proc/${driver.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
      writeFileSync(path.join(runDir, 'slot-0.owner'), `${driver.pid} ${startTime}\n`);
      writeFileSync(path.join(runDir, 'slot-0.journal'), `dir ${labDir}\n`);
      await waitFor(async () => (processesNaming(labDir).includes(container.pid!) ? true : undefined), { what: 'a process naming the lab dir', timeoutMs: 10_000 });
      driver.kill('SIGKILL');
      expect(readFileSync(`/proc/${driver.pid}/status`, 'utf8')).toMatch(/^ShdPnd:\s*0*100$/m);

      execFileSync('bash', [path.join(repoRoot, 'test/harness/lab-host.sh'), 'sweep'], { env: { ...process.env, PLEXUS_LAB_RUN: runDir }, stdio: 'pipe' });

      expect(readdirSync(runDir).filter((f) => f.startsWith('slot-'))).toEqual([]);
      expect(processesNaming(labDir)).toEqual([]);
      expect(existsSync(labDir)).toBe(false);
    } finally {
      writeFileSync(path.join(freezer, 'freezer.state'), 'THAWED');
      for (const p of [driver, container]) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      await waitFor(async () => (readFileSync(path.join(freezer, 'cgroup.procs'), 'utf8').trim() === '' ? true : undefined), { what: 'the frozen driver gone', timeoutMs: 10_000 });
      rmdirSync(freezer);
      rmSync(runDir, { recursive: true, force: true });
      rmSync(labDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('the sweep finds the processes naming a lab dir with one grep over the process table, not one grep per process (at load 40 that took 55 s a pass and undo outran its timeout)', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'plx-lab-run-'));
    const labDir = mkdtempSync(path.join(os.tmpdir(), 'plx-lab-dir-'));
    const bin = mkdtempSync(path.join(os.tmpdir(), 'plx-grep-count-'));
    const calls = path.join(bin, 'calls');
    writeFileSync(path.join(bin, 'grep'), `#!/bin/sh\necho x >> ${calls}\nexec /usr/bin/grep "$@"\n`, { mode: 0o755 });
    const container = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)', `${labDir}/shim`], { stdio: 'ignore' });
    try {
      await waitFor(async () => (processesNaming(labDir).includes(container.pid!) ? true : undefined), { what: 'a process naming the lab dir', timeoutMs: 10_000 });
      writeFileSync(path.join(runDir, 'slot-0.owner'), '1 1\n');          // pid 1 with another start time: gone
      writeFileSync(path.join(runDir, 'slot-0.journal'), `dir ${labDir}\n`);
      execFileSync('bash', [path.join(repoRoot, 'test/harness/lab-host.sh'), 'sweep'],
        { env: { ...process.env, PLEXUS_LAB_RUN: runDir, PATH: `${bin}:${process.env.PATH}` }, stdio: 'pipe' });
      expect(processesNaming(labDir)).toEqual([]);
      expect(readdirSync(runDir).filter((f) => f.startsWith('slot-'))).toEqual([]);
      // One scan to kill, one to see none is left; the process table holds hundreds.
      expect(readFileSync(calls, 'utf8').split('\n').filter(Boolean).length).toBeLessThanOrEqual(4);
    } finally {
      if (container.exitCode === null && container.signalCode === null) container.kill('SIGKILL');
      for (const d of [runDir, labDir, bin]) rmSync(d, { recursive: true, force: true });
    }
  }, 180_000);

  it('stop ends each kube-apiserver with SIGTERM, not the SIGKILL after 15 s (a pod\'s open watch once held it in graceful shutdown)', async () => {
    const set = await startClusters(1, { nodes: true, installCrds: false });
    const apiServers = set.components().filter((c) => c.name.startsWith('kube-apiserver-'));
    await set.stop();
    for (const c of apiServers) expect((await c.exited())?.signal).toBeNull();
  }, 300_000);
});
