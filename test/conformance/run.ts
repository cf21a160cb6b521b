// `npm run test:conformance [-- --clusters 3]`: the upstream MCS API conformance suite
// (mcs-api conformance v0.5.0, vendored unmodified) against Plexus deployed as pods in
// N real-node clusters. Builds what it needs (scripts/mcs-conformance.sh: the suite binary
// and its two images), starts the lab with those images in every node, deploys the broker
// and the agents from deploy/, writes one kubeconfig holding every cluster's context and
// runs all specs with `-contexts` in cluster order (the suite's first context exports, the
// others import). report.yaml, report.html, Ginkgo's JSON report and the suite's output go
// to test-results/mcs-conformance[-<N>-clusters]/. Prints one result line last; exits 1 if
// a Required spec did not pass or the suite could not run.
import '../../certs/setup.ts';
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Command, InvalidArgumentError } from 'commander';
import { resolveBinaries, startClusters } from '../harness/index.ts';
import type { ClusterSet } from '../harness/index.ts';
import { deployPlexus } from '../harness/plexus-deploy.ts';
import { readSuiteOutcome, summarize } from './suite-report.ts';
import type { OutcomeSummary } from './suite-report.ts';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const DNS_DOMAIN = 'clusterset.local';

interface CliOptions {
  clusters: number;
  focus?: string;
  labelFilter?: string;
  out?: string;
  plexus: boolean;
}

function clusterCount(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2 || n > 4) throw new InvalidArgumentError('expected 2, 3 or 4 (the suite needs two clusters at least)');
  return n;
}

function parseArgs(argv: string[]): CliOptions {
  return new Command('test:conformance')
    .description('Run the upstream MCS API conformance suite against Plexus in N real-node clusters.')
    .option('-n, --clusters <count>', 'number of clusters (the first exports, the others import)', clusterCount, 2)
    .option('--focus <regex>', 'run only the specs whose text matches (Ginkgo --focus)')
    .option('--label-filter <expr>', 'Ginkgo label filter, e.g. Required')
    .option('--out <dir>', 'where the reports go; default test-results/mcs-conformance[-<N>-clusters]')
    .option('--no-plexus', 'run against the bare lab (the suite and images only: what a cluster without an MCS implementation scores)')
    .showHelpAfterError()
    .parse(argv)
    .opts<CliOptions>();
}

interface Provisioned { suite: string; images: string[]; version: string }

/** scripts/mcs-conformance.sh: builds (or finds cached) the suite and its images. */
async function provision(): Promise<Provisioned> {
  const child = spawn('bash', [path.join(repoRoot, 'scripts/mcs-conformance.sh')], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`scripts/mcs-conformance.sh exited ${code}`);
  const field = (k: string): string[] => out.split('\n').find((l) => l.startsWith(`${k} `))?.split(' ').slice(1) ?? [];
  const [suite] = field('suite');
  const images = field('images');
  const [version] = field('version');
  if (!suite || images.length !== 2 || !version) throw new Error(`scripts/mcs-conformance.sh printed no suite, images and version: ${out.trim()}`);
  return { suite, images, version };
}

/** One kubeconfig with a context per cluster, named after it (the suite's -contexts). */
async function writeMergedKubeconfig(set: ClusterSet, file: string): Promise<void> {
  const { stdout } = await run(resolveBinaries().kubectl, ['config', 'view', '--flatten'], {
    env: { ...process.env, KUBECONFIG: set.clusters.map((c) => c.kubeconfigPath).join(':') },
  });
  writeFileSync(file, stdout, { mode: 0o600 });
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Runs the suite binary in `outDir` (it writes report.yaml/html to its working dir), its output teed to suite.log. */
async function runSuite(p: Provisioned, kubeconfig: string, contexts: string[], outDir: string, o: CliOptions): Promise<void> {
  const args = [
    `-kubeconfig=${kubeconfig}`, `-contexts=${contexts.join(',')}`, `-dns-domain=${DNS_DOMAIN}`,
    '-organization=Plexus', '-project=Plexus', `-version=${packageVersion()}`,
    `-ginkgo.json-report=${path.join(outDir, 'ginkgo.json')}`, '-ginkgo.timeout=60m',
    '-ginkgo.no-color',
    ...(o.focus ? [`-ginkgo.focus=${o.focus}`] : []),
    ...(o.labelFilter ? [`-ginkgo.label-filter=${o.labelFilter}`] : []),
  ];
  const log = createWriteStream(path.join(outDir, 'suite.log'));
  const child = spawn(p.suite, args, { cwd: outDir, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout, child.stderr]) {
    s.on('data', (b: Buffer) => {
      process.stdout.write(b);
      log.write(b);
    });
  }
  await new Promise<void>((resolve) => child.once('close', () => resolve()));
  await new Promise<void>((resolve) => log.end(resolve));
}

function resultLine(version: string, n: number, s: OutcomeSummary, seconds: number, outDir: string): string {
  return `MCS conformance (mcs-api conformance ${version}, ${n} clusters): ${s.passed}/${s.total} specs pass `
    + `(Required ${s.required.passed}/${s.required.total}, Optional ${s.optional.passed}/${s.optional.total}) `
    + `in ${(seconds / 60).toFixed(1)} min; report: ${path.relative(repoRoot, path.join(outDir, 'report.html'))}`;
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv);
  // Interrupted: exit at once; the harness's exit hook kills the lab and removes it.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, () => process.exit(130));
  const outDir = path.resolve(o.out ?? path.join(repoRoot, 'test-results', o.clusters === 2 ? 'mcs-conformance' : `mcs-conformance-${o.clusters}-clusters`));
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const phase = (what: string, started: number): void => {
    process.stderr.write(`[conformance] ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  };

  let t = Date.now();
  const p = await provision();
  phase('suite and images ready', t);

  t = Date.now();
  const names = Array.from({ length: o.clusters }, (_, i) => `cluster-${i + 1}`);
  const set = await startClusters(o.clusters, {
    names, serviceCidrs: names.map((_, i) => `10.${96 + i}.0.0/16`), nodes: { extraImages: p.images },
    logsOnFailure: path.join(outDir, 'lab-logs'),
  });
  let failed = true;
  try {
    phase(`${o.clusters} real-node clusters up`, t);
    if (o.plexus) {
      t = Date.now();
      const d = await deployPlexus(set);
      phase(`Plexus deployed (image ${d.timings.image} ms, broker ${d.timings.broker} ms, agents ${d.timings.agents} ms, CoreDNS ${d.timings.coreDns} ms)`, t);
    }
    const kubeconfig = path.join(outDir, 'kubeconfig');
    await writeMergedKubeconfig(set, kubeconfig);
    t = Date.now();
    await runSuite(p, kubeconfig, names, outDir, o);
    const seconds = (Date.now() - t) / 1000;
    rmSync(kubeconfig, { force: true });           // holds admin keys of clusters that are about to go
    const outcome = readSuiteOutcome(path.join(outDir, 'ginkgo.json'));
    const filtered = o.focus !== undefined || o.labelFilter !== undefined;
    const s = summarize(outcome, filtered);
    failed = outcome.setupFailure !== undefined || s.required.total === 0 || s.failedRequired.length > 0;
    if (outcome.setupFailure) process.stdout.write(`\nthe suite stopped before its specs: ${outcome.setupFailure}\n`);
    for (const f of s.failedRequired) process.stdout.write(`\nRequired spec not passed (${f.state}): ${f.text}\n  ${f.failure ?? ''}\n`);
    const filter = filtered ? ` [filtered: ${[o.focus, o.labelFilter].filter(Boolean).join(', ')}]` : '';
    process.stdout.write(`\n${resultLine(p.version, o.clusters, s, seconds, outDir)}${filter}\n`);
  } finally {
    // A failed stop is reported on its own line, never in place of the error that got us here.
    await set.stop(failed ? { saveLogsTo: path.join(outDir, 'lab-logs') } : {}).catch((err: unknown) => {
      failed = true;
      process.stderr.write(`test:conformance: stopping the lab failed: ${(err as Error).message ?? String(err)}\n`);
    });
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  const code = (err as { code?: string }).code;
  process.stderr.write(`test:conformance: ${code ? `${code}: ` : ''}${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
