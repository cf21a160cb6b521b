// Output for every CLI command that prints data: a human table by default, or
// `--output json` for scripts, and the one-line error message. Commands build rows; this module only renders them.

export type OutputFormat = 'table' | 'json';

export function parseOutputFormat(value: string): OutputFormat {
  if (value === 'table' || value === 'json') return value;
  throw new Error(`--output must be "table" or "json", not "${value}"`);
}

export interface Column<T> { header: string; value: (row: T) => string | number | null | undefined }

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r) ?? '-')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header.toUpperCase())), ...cells.map(line)].join('\n') + '\n';
}

/** Prints `json` as-is for --output json, otherwise the table of `rows`. */
export function printData<T>(format: OutputFormat, json: unknown, rows: readonly T[], columns: readonly Column<T>[], out: NodeJS.WritableStream = process.stdout): void {
  out.write(format === 'json' ? JSON.stringify(json, null, 2) + '\n' : renderTable(rows, columns));
}

/** A message for the user: `error [PLX_…]: …` when the error carries a stable code. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('PLX_') ? `error [${code}]: ${err.message}` : `error: ${err.message}`;
  }
  return `error: ${String(err)}`;
}
