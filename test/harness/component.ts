// One control-plane process (etcd or a kube-apiserver), run through watchdog.sh so that it
// cannot outlive the harness process, with its output appended to a log file.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { HarnessError } from './errors.ts';

export interface ComponentSpec {
  readonly name: string;              // e.g. "etcd", "kube-apiserver-cluster-1"
  readonly command: string;
  readonly args: readonly string[];
  readonly logFile: string;
  readonly pidFile: string;
  readonly graceSeconds?: number;     // SIGTERM → SIGKILL when the harness died; default 5
  /** Run inside this named network namespace (/run/netns/<netns>); the real-node lab's nodes. */
  readonly netns?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface ExitInfo { readonly code: number | null; readonly signal: NodeJS.Signals | null }

const watchdogScript = path.join(import.meta.dirname, 'watchdog.sh');

export class Component {
  readonly spec: ComponentSpec;
  #child: ChildProcess | undefined;
  #exited: Promise<ExitInfo> | undefined;
  #exit: ExitInfo | undefined;
  #stopping = false;

  constructor(spec: ComponentSpec) {
    this.spec = spec;
  }

  get name(): string { return this.spec.name; }

  /** True between start() and the watchdog's exit. */
  get running(): boolean { return this.#child !== undefined && this.#exit === undefined; }

  /** Pid of the watchdog, which leads the process group holding the component. */
  get watchdogPid(): number | undefined { return this.running ? this.#child?.pid : undefined; }

  start(): void {
    if (this.running) return;
    rmSync(this.spec.pidFile, { force: true });
    const fd = openSync(this.spec.logFile, 'a', 0o600);
    try {
      writeSync(fd, `\n# ${new Date().toISOString()} starting ${this.spec.command} ${this.spec.args.join(' ')}\n`);
      // detached: own process group, so Ctrl-C in a terminal reaches only the harness,
      // which then stops the components in order; and so one kill(-pgid) reaches all.
      // nsenter switches only the network namespace and then execs the command, so the
      // recorded pid is the component's and its mounts land in the host's mount namespace
      // (the kubelet's volume mounts must be seen by containerd).
      const argv = this.spec.netns
        ? ['nsenter', `--net=/run/netns/${this.spec.netns}`, '--', this.spec.command, ...this.spec.args]
        : [this.spec.command, ...this.spec.args];
      const child = spawn('bash', [watchdogScript, 'run', String(this.spec.graceSeconds ?? 5), this.spec.pidFile, ...argv],
        { stdio: ['pipe', fd, fd], detached: true, env: this.spec.env ?? process.env });
      child.stdin?.on('error', () => {}); // the pipe is never written; it only signals our death
      this.#child = child;
      this.#exit = undefined;
      this.#stopping = false;
      this.#exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => {
          this.#exit = { code, signal };
          resolve(this.#exit);
        });
        child.once('error', () => {
          this.#exit = { code: null, signal: null };
          resolve(this.#exit);
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  /** While waiting for readiness: an error with the log tail if the process exited or was stopped. */
  notRunningError(): HarnessError | undefined {
    if (this.running) return undefined;
    const exit = this.unexpectedExit();
    const how = exit ? `exited (code ${exit.code}, signal ${exit.signal})` : 'was stopped';
    return new HarnessError('PLX_HARNESS_START_FAILED',
      `${this.name} ${how} before it was ready; log ${this.spec.logFile} ends with:\n${this.logTail()}`);
  }

  /** Set when the process exited without stop() being called: a crash. */
  unexpectedExit(): ExitInfo | undefined {
    return this.#stopping ? undefined : this.#exit;
  }

  /** SIGTERM, then SIGKILL to the whole process group if it does not exit in time. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.#child;
    if (!child || !this.#exited || this.#exit) return;
    this.#stopping = true;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
    const outcome = await Promise.race([this.#exited, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.killNow();
      await this.#exited;
    }
  }

  /** Synchronous SIGKILL of the watchdog's process group; for process-exit cleanup. */
  killNow(): void {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#exit) return;
    this.#stopping = true;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Waits for the process to exit (after stop() or a crash). */
  async exited(): Promise<ExitInfo | undefined> {
    return this.#exited;
  }

  /** Pid of the component itself (not the watchdog), once the watchdog has recorded it. */
  pid(): number | undefined {
    if (!existsSync(this.spec.pidFile)) return undefined;
    const n = Number.parseInt(readFileSync(this.spec.pidFile, 'utf8'), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }

  /** Peak resident set size of the component in bytes (Linux VmHWM), if it is running. */
  peakRssBytes(): number | undefined {
    const pid = this.pid();
    if (pid === undefined || !this.running) return undefined;
    try {
      const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 30): string {
    try {
      return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
