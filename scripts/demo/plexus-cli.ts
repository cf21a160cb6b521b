// Runs the real `plexus` CLI as a child process, the way an operator would.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '..', '..');
const bin = path.join(repo, 'bin', 'plexus.ts');

export async function plexus(args: string[]): Promise<string> {
  const child = spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`plexus ${args.slice(0, 3).join(' ')} failed (exit ${code}): ${err.trim()}`);
  return out;
}

export async function plexusJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await plexus([...args, '--output', 'json'])) as T;
}

/** A long-running `plexus …` process (e.g. the broker); its logs go to `logFile`. */
export function plexusDaemon(args: string[], logFd: number): ChildProcess {
  return spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ['ignore', logFd, logFd] });
}
