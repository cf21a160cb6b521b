// Prints CI's closing lines from the vitest JSON reports: every test or file that did not
// pass (by name, so the tail of the log says what to look at), then "N passed, N failed".
// A test vitest skipped counts against the run: CI runs no skipped tests, and vitest marks
// the tests of a file whose setup hook failed as skipped, not failed.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface Report {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: Array<{
    name: string;
    status: string;
    message?: string;
    assertionResults: Array<{ status: string; fullName: string }>;
  }>;
}

let passed = 0;
let failed = 0;
let skipped = 0;
let failedFiles = 0;
const lines: string[] = [];
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    lines.push(`missing test report ${file}`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  for (const t of r.testResults ?? []) {
    const where = relative(process.cwd(), t.name);
    if (t.status !== 'passed') {
      failedFiles += 1;
      const why = (t.message ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
      lines.push(`FILE ${t.status}: ${where}${why ? ` — ${why.slice(0, 300)}` : ''}`);
    }
    for (const a of t.assertionResults) {
      if (a.status !== 'passed') lines.push(`  ${a.status}: ${where} > ${a.fullName}`);
    }
  }
}
for (const l of lines) process.stdout.write(`${l}\n`);
const files = failedFiles ? `, ${failedFiles} file(s) not passed` : '';
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${files}\n`);
process.exitCode = failed > 0 || skipped > 0 || failedFiles > 0 ? 1 : 0;
