// suite-report: the pass counts and the failed Required specs from a Ginkgo JSON report
// shaped like the conformance suite's (labels on containers and on leaves).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSuiteOutcome, summarize } from './suite-report.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function reportFile(specs: object[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plx-suite-report-'));
  dirs.push(dir);
  const file = path.join(dir, 'ginkgo.json');
  writeFileSync(file, JSON.stringify([{ SpecReports: specs }]));
  return file;
}

const it_ = (text: string, state: string, leaf: string[], containers: string[][] = [[]], message?: string): object => ({
  LeafNodeType: 'It', LeafNodeText: text, LeafNodeLabels: leaf, ContainerHierarchyLabels: containers,
  ContainerHierarchyTexts: containers.map(() => ''), State: state, ...(message ? { Failure: { Message: message } } : {}),
});

describe('conformance suite report', () => {
  it('counts Required and Optional specs by their leaf and container labels', () => {
    const file = reportFile([
      { LeafNodeType: 'BeforeSuite', State: 'passed' },
      it_('required on the leaf', 'passed', ['Required']),
      it_('required on the container', 'failed', [], [['Required', 'ClusterIP']], 'Expected\nmore'),
      it_('optional', 'passed', [], [['Optional', 'DNS']]),
      it_('optional too', 'timedout', ['Optional']),
    ]);
    const s = summarize(readSuiteOutcome(file));
    expect(s).toMatchObject({ passed: 2, total: 4, required: { passed: 1, total: 2 }, optional: { passed: 1, total: 2 } });
    expect(s.failedRequired.map((f) => [f.text, f.failure])).toEqual([['required on the container', 'Expected']]);
  });

  it('a BeforeSuite failure is the setup failure, and every spec it skipped is a failed Required one', () => {
    const file = reportFile([
      { LeafNodeType: 'BeforeSuite', State: 'failed', Failure: { Message: 'Test suite set up failed\nthe server could not find the requested resource' } },
      it_('a', 'skipped', ['Required']),
    ]);
    const o = readSuiteOutcome(file);
    expect(o.setupFailure).toBe('Test suite set up failed');
    expect(summarize(o).failedRequired).toHaveLength(1);
  });

  it('in a filtered run a skipped Required spec is not a failure', () => {
    const file = reportFile([it_('a', 'skipped', ['Required']), it_('b', 'passed', ['Required'])]);
    expect(summarize(readSuiteOutcome(file), true).failedRequired).toEqual([]);
  });
});
