// The real kubectl as a long-lived process (exec -i, attach, logs -f, port-forward) or a
// one-shot run, with any kubeconfig: a person's (through the access proxies) or a cluster's
// admin one (straight at the API server). Output is collected as it arrives so tests poll
// on what was printed; the time of the first stdout byte is kept for latency figures.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { resolveBinaries } from '../../harness/binaries.ts';
import { waitFor } from '../../harness/wait-for.ts';

export interface KubectlIdentity {
  readonly kubeconfig: string;
  readonly cacheDir: string;
}

export interface SessionOptions {
  /** Extra environment, e.g. KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false to force SPDY. */
  readonly env?: Record<string, string>;
  /** Wraps kubectl in a real pseudo-terminal (util-linux `script`), for `exec -it`. */
  readonly pty?: boolean;
}

export class KubectlSession {
  readonly child: ChildProcessWithoutNullStreams;
  readonly startedAt = performance.now();
  firstByteAt: number | undefined;
  stdout = '';
  stdoutBytes: Buffer[] = [];
  stderr = '';
  readonly #closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(who: KubectlIdentity, args: readonly string[], o: SessionOptions = {}) {
    const argv = ['--kubeconfig', who.kubeconfig, '--cache-dir', who.cacheDir, ...args];
    const bin = resolveBinaries().kubectl;
    const env = { ...process.env, ...o.env };
    // `script -qec CMD /dev/null` runs CMD on a new pty and relays our pipes to its master;
    // -e passes CMD's exit code through.
    this.child = o.pty
      ? spawn('script', ['-qec', [bin, ...argv].map(shellQuote).join(' '), '/dev/null'], { env: { ...env, TERM: 'dumb' } })
      : spawn(bin, argv, { env });
    this.child.stdout.on('data', (d: Buffer) => {
      this.firstByteAt ??= performance.now();
      this.stdoutBytes.push(d);
      this.stdout += d.toString();
    });
    this.child.stderr.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    this.#closed = once(this.child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  /** ms from spawn to the first stdout byte. */
  get timeToFirstByte(): number | undefined {
    return this.firstByteAt === undefined ? undefined : this.firstByteAt - this.startedAt;
  }

  get running(): boolean { return this.child.exitCode === null && this.child.signalCode === null; }

  write(data: string | Buffer): void { this.child.stdin.write(data); }
  endInput(): void { this.child.stdin.end(); }

  /** Polls until stdout matches; fails early (with stderr) if kubectl exits first. */
  async waitForOutput(pattern: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return waitFor(async () => {
      const m = this.stdout.match(pattern);
      if (m) return m;
      if (!this.running) throw new Error(`kubectl exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}; stderr: ${this.stderr.trim()}`);
      return undefined;
    }, { what, timeoutMs: timeoutMs });
  }

  /** Waits for the exit; kills it (SIGKILL) if it has not ended within `timeoutMs`. */
  async exit(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.#closed;
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    if (this.running) this.child.kill('SIGTERM');
    await this.exit(10_000);
  }
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** One kubectl run to its end, with optional stdin. */
export async function runKubectl(who: KubectlIdentity, args: readonly string[], o: SessionOptions & { input?: string | Buffer } = {}) {
  const s = new KubectlSession(who, args, o);
  if (o.input !== undefined) s.write(o.input);
  s.endInput();
  const { code } = await s.exit();
  return { code, stdout: s.stdout, stderr: s.stderr, stdoutBytes: Buffer.concat(s.stdoutBytes), timeToFirstByte: s.timeToFirstByte };
}
