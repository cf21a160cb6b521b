// The real `plexus` CLI as a child process, the way an operator runs it: for integration
// and e2e tests, benchmarks and the demo. The environment is cleared of the variables that
// would make a command pick up ambient state (a default broker data dir, in-cluster mode).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const plexusBin = path.join(repoRoot, 'bin', 'plexus.ts');

export interface PlexusRun { code: number | null; stdout: string; stderr: string }

const cleanEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  ({ ...process.env, PLEXUS_BROKER_DATA_DIR: '', PLEXUS_BROKER: '', PLEXUS_ADMIN_P12: '', KUBERNETES_SERVICE_HOST: '', ...extra });

/** Runs `plexus <args>` to completion (in the repository root unless `cwd`); never throws on a non-zero exit. */
export async function runPlexus(args: readonly string[], o: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<PlexusRun> {
  return runCommand(process.execPath, [plexusBin, ...args], cleanEnv(o.env), o.cwd);
}

/** Runs any command (from the repository root unless `cwd`) to completion, collecting its output; never throws on a non-zero exit. */
export async function runCommand(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd = repoRoot): Promise<PlexusRun> {
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** Runs `plexus <args>` and returns stdout; a non-zero exit throws with the stderr line. */
export async function plexus(args: readonly string[]): Promise<string> {
  const r = await runPlexus(args);
  if (r.code !== 0) throw new Error(`plexus ${args.slice(0, 3).join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export async function plexusJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await plexus([...args, '--output', 'json'])) as T;
}

/** A long-running `plexus …` process (broker, agent); stdout and stderr go to `logFd`. */
export function plexusDaemon(args: readonly string[], logFd: number | 'ignore'): ChildProcess {
  return spawn(process.execPath, [plexusBin, ...args], { cwd: repoRoot, env: cleanEnv(), stdio: ['ignore', logFd, logFd] });
}
