// Terminal output for the demo: numbered steps with elapsed time, a spinner while a step
// runs (only on a TTY), and aligned tables for summaries.
const tty = process.stdout.isTTY === true;
const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

let stepNo = 0;

export async function step<T>(title: string, run: () => Promise<T>): Promise<T> {
  stepNo += 1;
  const label = `${String(stepNo).padStart(2)}. ${title}`;
  const start = performance.now();
  let frame = 0;
  const timer = tty
    ? setInterval(() => process.stdout.write(`\r${frames[frame++ % frames.length]} ${label} (${((performance.now() - start) / 1000).toFixed(0)}s)`), 120)
    : undefined;
  if (!tty) process.stdout.write(`… ${label}\n`);
  try {
    const result = await run();
    const took = ((performance.now() - start) / 1000).toFixed(1);
    process.stdout.write(`${tty ? '\r\x1b[K' : ''}✔ ${label} — ${took}s\n`);
    return result;
  } catch (err) {
    process.stdout.write(`${tty ? '\r\x1b[K' : ''}✘ ${label}\n`);
    throw err;
  } finally {
    if (timer) clearInterval(timer);
  }
}

export function detail(text: string): void {
  process.stdout.write(text.split('\n').map((l) => `     ${l}`).join('\n') + '\n');
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}
