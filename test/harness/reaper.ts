// Removes a cluster set's temp dir if the harness process dies without cleaning up
// (see watchdog.sh `reap`). On an orderly stop the harness removes the dir itself and
// kills the reaper.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export class Reaper {
  readonly #child: ChildProcess;

  /** `lab`: the set has real nodes; undo every lab whose driver is gone (lab-host.sh sweep) first. */
  constructor(dir: string, graceSeconds = 5, lab = false) {
    const args = [path.join(import.meta.dirname, 'watchdog.sh'), 'reap', String(graceSeconds), dir, ...(lab ? ['lab'] : [])];
    this.#child = spawn('bash', args, {
      stdio: ['pipe', 'ignore', 'ignore'], detached: true, cwd: '/',
    });
    this.#child.stdin?.on('error', () => {});
    this.#child.on('error', () => {});
  }

  get pid(): number | undefined { return this.#child.pid; }

  /** Kills the reaper (its process group) without letting it remove anything. */
  dismiss(): void {
    const pid = this.#child.pid;
    if (pid === undefined || this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Resolves once the reaper process has exited. */
  exited(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => this.#child.once('exit', () => resolve()));
  }
}
