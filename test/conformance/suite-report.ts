// Reads the outcome of one run of the upstream MCS conformance suite from Ginkgo's JSON
// report (`-ginkgo.json-report`), which the suite writes beside its own report.yaml/html.
// A spec counts as passed as the suite's report counts it: its leaf ran and passed. A
// failure before any spec ran (BeforeSuite: the API not served, a context missing) fails
// every spec.
import { readFileSync } from 'node:fs';

export interface SpecResult {
  readonly text: string;
  readonly labels: readonly string[];
  readonly state: string;           // passed, failed, skipped, panicked, timedout, …
  readonly failure?: string;        // first line of the failure message
}

export interface SuiteOutcome {
  readonly specs: readonly SpecResult[];
  /** Why the suite stopped before its specs, if it did. */
  readonly setupFailure?: string;
}

interface GinkgoSpecReport {
  ContainerHierarchyTexts?: string[] | null;
  ContainerHierarchyLabels?: (string[] | null)[] | null;
  LeafNodeType: string;
  LeafNodeText?: string;
  LeafNodeLabels?: string[] | null;
  State: string;
  Failure?: { Message?: string };
}

interface GinkgoReport { SpecReports?: GinkgoSpecReport[] | null }

export function readSuiteOutcome(jsonReportFile: string): SuiteOutcome {
  const reports = JSON.parse(readFileSync(jsonReportFile, 'utf8')) as GinkgoReport[];
  const specs: SpecResult[] = [];
  let setupFailure: string | undefined;
  for (const r of reports.flatMap((x) => x.SpecReports ?? [])) {
    const failure = r.Failure?.Message?.trim().split('\n')[0];
    if (r.LeafNodeType === 'BeforeSuite' && r.State !== 'passed') setupFailure = failure ?? r.State;
    if (r.LeafNodeType !== 'It' || r.State === 'pending') continue;
    const labels = [...(r.ContainerHierarchyLabels ?? []).flatMap((l) => l ?? []), ...(r.LeafNodeLabels ?? [])];
    const text = [...(r.ContainerHierarchyTexts ?? []), r.LeafNodeText ?? ''].join(' ').trim();
    specs.push({ text, labels, state: r.State, ...(failure ? { failure } : {}) });
  }
  return { specs, ...(setupFailure ? { setupFailure } : {}) };
}

export interface OutcomeSummary {
  readonly passed: number;
  readonly total: number;
  readonly required: { passed: number; total: number };
  readonly optional: { passed: number; total: number };
  readonly failedRequired: readonly SpecResult[];
}

/** `filtered`: the run was narrowed (focus, label filter), so a skipped spec is not a failure. */
export function summarize(o: SuiteOutcome, filtered = false): OutcomeSummary {
  const count = (label: string): { passed: number; total: number } => {
    const of = o.specs.filter((s) => s.labels.includes(label));
    return { passed: of.filter((s) => s.state === 'passed').length, total: of.length };
  };
  return {
    passed: o.specs.filter((s) => s.state === 'passed').length,
    total: o.specs.length,
    required: count('Required'),
    optional: count('Optional'),
    failedRequired: o.specs.filter((s) => s.labels.includes('Required') && s.state !== 'passed' && !(filtered && s.state === 'skipped')),
  };
}
