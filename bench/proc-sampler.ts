// Samples one process from /proc at a fixed interval: its CPU (utime+stime), how long its
// main thread waited for a CPU (schedstat), and the machine's CPU pressure (PSI "some").
// The last two say whether a slow figure was this process's own cost or the machine's
// other load: on a shared 2-core machine a starved process shows low CPU and high latency.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

export interface ProcSample {
  /** End of the sample window, ms since epoch. */
  at: number;
  /** CPU over the window; 100 = one core. */
  cpuPercent: number;
  /** Cumulative ms the main thread sat runnable without a CPU (NaN without schedstat). */
  waitMs: number;
  /** Cumulative ms during which some runnable task on the machine had no CPU (NaN without PSI). */
  pressureMs: number;
}

export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

function readOr(path: string, parse: (text: string) => number): number {
  try {
    return parse(readFileSync(path, 'utf8'));
  } catch {
    return NaN;
  }
}

/** Fields: time on a CPU (ns), time waiting on a run queue (ns), timeslices. */
const waitMs = (pid: number) => readOr(`/proc/${pid}/schedstat`, (t) => Number(t.split(' ')[1]) / 1e6);
const pressureMs = () => readOr('/proc/pressure/cpu', (t) => Number(/^some .*total=(\d+)/m.exec(t)?.[1] ?? NaN) / 1000);

export const clockTicksPerSecond = CLK_TCK;

/** Samples `pid` every `intervalMs` until stop() is called. */
export function sampleProcess(pid: number, intervalMs: number): { samples: ProcSample[]; stop: () => void } {
  const samples: ProcSample[] = [];
  let lastT = Date.now();
  let lastCpu = cpuMs(pid);
  const timer = setInterval(() => {
    const t = Date.now();
    const cpu = cpuMs(pid);
    samples.push({ at: t, cpuPercent: ((cpu - lastCpu) / (t - lastT)) * 100, waitMs: waitMs(pid), pressureMs: pressureMs() });
    lastT = t;
    lastCpu = cpu;
  }, intervalMs);
  return { samples, stop: () => clearInterval(timer) };
}
