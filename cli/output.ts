// Output for every CLI command that prints data: a human table by default, or
// `--output json` for scripts, and the one-line error message. Commands build rows; this module only renders them.
import { describeStatus, isApiException, kubeStatus } from '../agent/kube/kube-failure.ts';

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

/**
 * A message for the user: `error [PLX_…]: …` when the error carries a stable code. Always
 * one line: a Kubernetes client failure that reached here unmapped (client-node puts the
 * status code, raw body and every response header into its message) is reduced to the API
 * server's own Status, as agent/kube/kube-failure.ts does for the mapped ones.
 */
export function describeError(err: unknown): string {
  if (isApiException(err)) return `error [PLX_AGENT_KUBE]: Kubernetes API request failed: ${describeStatus(kubeStatus(err.code, err.body))}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const message = withoutHttpDump(err);
    return typeof code === 'string' && code.startsWith('PLX_') ? `error [${code}]: ${message}` : `error: ${message}`;
  }
  return `error: ${String(err)}`;
}

const DUMP = 'HTTP-Code: ';

/** The message with an embedded client-node dump replaced by the Status it carried. */
function withoutHttpDump(err: Error): string {
  const at = err.message.indexOf(DUMP);
  if (at < 0) return err.message;
  let cause: unknown = err.cause;
  while (cause instanceof Error && !isApiException(cause)) cause = cause.cause;
  const status = isApiException(cause) ? describeStatus(kubeStatus(cause.code, cause.body)) : err.message.slice(at + DUMP.length).split('\n', 1)[0]!;
  return `${err.message.slice(0, at)}${status}`;
}
