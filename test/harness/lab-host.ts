// The TypeScript side of lab-host.sh: claim a lab slot, journal every host resource before
// creating it, and undo the journal. The journal is what lets a later run (or the reaper)
// clean up after a driver that was killed.
import { appendFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { HarnessError } from './errors.ts';

export type JournalKind = 'dir' | 'netns' | 'link' | 'cgroup';

const script = path.join(import.meta.dirname, 'lab-host.sh');

export function labRunDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.PLEXUS_LAB_RUN || '/run/plexus-lab';
}

function run(args: string[]): string {
  try {
    return execFileSync('bash', [script, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new HarnessError('PLX_HARNESS_START_FAILED', `lab-host.sh ${args[0]} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Undoes every lab whose driver is gone (what a crashed run left), synchronously. */
export function sweepLabs(): void {
  run(['sweep']);
}

export class LabHost {
  readonly slot: number;
  readonly #journal: string;
  #released = false;

  private constructor(slot: number) {
    this.slot = slot;
    this.#journal = path.join(labRunDir(), `slot-${slot}.journal`);
  }

  /** Sweeps dead labs, then claims a free slot for this process; `dir` is journalled first. */
  static claim(dir: string): LabHost {
    if (process.getuid?.() !== 0) throw new HarnessError('PLX_HARNESS_BAD_OPTION', 'the real-node lab needs root (network namespaces, cgroups, mounts)');
    const slot = Number(run(['claim', String(process.pid), dir]).trim().split('\n').pop());
    if (!Number.isInteger(slot)) throw new HarnessError('PLX_HARNESS_START_FAILED', 'lab-host.sh claim printed no slot');
    return new LabHost(slot);
  }

  /** Records a resource before it is created, so an undo finds it even after a crash. */
  record(kind: JournalKind, value: string): void {
    if (/\s/.test(value) || value === '') throw new HarnessError('PLX_HARNESS_BAD_OPTION', `journal value must be one word: ${JSON.stringify(value)}`);
    appendFileSync(this.#journal, `${kind} ${value}\n`);
  }

  /** SIGKILLs the lab's pods (every process in its cgroup roots); the namespaces and mounts stay. */
  killPods(): void {
    if (!this.#released) run(['kill-pods', String(this.slot)]);
  }

  /** Kills what is left, unmounts, deletes namespaces, links, cgroups and the dir; restores host settings if last. Idempotent, synchronous. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    run(['undo', String(this.slot)]);
  }
}
