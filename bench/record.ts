// Appends one benchmark run to BENCHMARKS.md with the date and the machine, so figures
// from different days and machines stay comparable. Every bench:* script calls this.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchmarkRun {
  title: string;                 // e.g. "bench:certs — certificate issuance"
  columns: string[];
  rows: (string | number)[][];
  notes?: string[];              // method, targets, ratios
}

export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model?.trim() ?? 'unknown CPU';
  const mem = (os.totalmem() / 2 ** 30).toFixed(0);
  // The 1-minute load average says whether other work shared the cores during the run.
  const load = os.loadavg()[0]!.toFixed(2);
  return `${os.hostname()} · ${cpu} · ${os.cpus().length} cores · ${mem} GiB · Node ${process.version} · ${os.platform()} ${os.release()} · load ${load}`;
}

export function formatRun(run: BenchmarkRun, now = new Date()): string {
  const lines = [`## ${run.title}`, '', `${now.toISOString()} — ${machineDescription()}`, ''];
  lines.push(`| ${run.columns.join(' | ')} |`, `|${run.columns.map(() => '---').join('|')}|`);
  for (const row of run.rows) lines.push(`| ${row.join(' | ')} |`);
  if (run.notes?.length) lines.push('', ...run.notes.map((n) => `- ${n}`));
  return lines.join('\n') + '\n\n';
}

export function recordBenchmark(run: BenchmarkRun, file = path.resolve(import.meta.dirname, '..', 'BENCHMARKS.md')): void {
  const text = formatRun(run);
  process.stdout.write(text);
  if (!existsSync(file)) writeFileSync(file, '# Benchmarks\n\nAppended by the `npm run bench:*` scripts; newest at the bottom.\n\n');
  appendFileSync(file, text);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
