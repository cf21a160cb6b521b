// Agents restarted 50 times at random moments while exports churn (issue 7). Three
// clusters export and re-export services whose endpoints keep changing; meanwhile each
// agent is killed (SIGKILL or SIGTERM, at random: during its start, its informer sync or
// steady state) and started again, 50 restarts in all. Once the churn stops, every
// cluster must hold exactly the expected ServiceImports, EndpointSlices and DNS answers:
// nothing lost, nothing duplicated, no orphan. The schedule comes from a seeded PRNG; the
// seed is printed on failure and PLEXUS_E2E_SEED replays it.
import { describe, expect, it, onTestFailed } from 'vitest';
import { agentLog, type ExpectedImport, seedFromEnv, seededRandom, untilExact } from './support/faults.ts';
import { createService, ensureNamespace, exportService, serviceImports, setEndpoints, unexportService } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';

const NS = 'churn';
const RESTARTS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 1–3 distinct addresses from 10.80.<cluster>.1–20. */
function addresses(random: () => number, cluster: number): string[] {
  const n = 1 + Math.floor(random() * 3);
  const set = new Set<string>();
  while (set.size < n) set.add(`10.80.${cluster}.${1 + Math.floor(random() * 20)}`);
  return [...set].sort();
}

describe('agents restarted at random moments during churn', () => {
  const fixture = useMesh({ clusters: 3, leaseDuration: '3s' });
  const seed = seedFromEnv();

  it(`${RESTARTS} restarts leave exactly the expected imports, slices and DNS answers in every cluster`, async () => {
    onTestFailed(() => console.error(`[agent-restart-churn] seed ${seed} (replay with PLEXUS_E2E_SEED=${seed})`));
    const mesh = fixture.mesh;
    const c = (i: number) => mesh.cluster(i);
    const random = seededRandom(seed);

    // What the exporting clusters hold; the churn updates it after each successful write.
    const want = { alpha1: ['10.80.1.1'], alpha2: ['10.80.2.1'], beta: ['10.80.1.100'], gamma: ['10.80.3.1'], gammaExported: true };
    for (const i of [0, 1, 2]) await ensureNamespace(c(i), NS);
    await createService(c(0), NS, 'alpha', { clusterIP: 'None' });
    await createService(c(1), NS, 'alpha', { clusterIP: 'None' });
    await createService(c(0), NS, 'beta');
    await createService(c(2), NS, 'gamma', { clusterIP: 'None' });
    await setEndpoints(c(0), NS, 'alpha', want.alpha1);
    await setEndpoints(c(1), NS, 'alpha', want.alpha2);
    await setEndpoints(c(0), NS, 'beta', want.beta);
    await setEndpoints(c(2), NS, 'gamma', want.gamma);
    await exportService(c(0), NS, 'alpha');
    await exportService(c(1), NS, 'alpha');
    await exportService(c(0), NS, 'beta');
    await exportService(c(2), NS, 'gamma');
    const expected = (): Record<string, [ExpectedImport, 'Headless' | 'ClusterSetIP']> => ({
      alpha: [{ 'cluster-1': want.alpha1, 'cluster-2': want.alpha2 }, 'Headless'],
      beta: [{ 'cluster-1': want.beta }, 'ClusterSetIP'],
      gamma: [want.gammaExported ? { 'cluster-3': want.gamma } : {}, 'Headless'],
    });
    for (const i of [0, 1, 2]) for (const [svc, [e, type]] of Object.entries(expected())) await untilExact(mesh, c(i), NS, svc, e, type);

    let churning = true;
    let writes = 0;
    const churn = (async () => {
      while (churning) {
        const r = random();
        if (r < 0.2) {
          want.alpha1 = addresses(random, 1);
          await setEndpoints(c(0), NS, 'alpha', want.alpha1);
        } else if (r < 0.4) {
          want.alpha2 = addresses(random, 2);
          await setEndpoints(c(1), NS, 'alpha', want.alpha2);
        } else if (r < 0.6) {
          want.beta = addresses(random, 1).map((a) => a.replace(/\.(\d+)$/, (_, n: string) => `.${100 + Number(n)}`));
          await setEndpoints(c(0), NS, 'beta', want.beta);
        } else if (r < 0.8) {
          want.gamma = addresses(random, 3);
          await setEndpoints(c(2), NS, 'gamma', want.gamma);
        } else if (want.gammaExported) {
          await unexportService(c(2), NS, 'gamma');
          want.gammaExported = false;
        } else {
          await exportService(c(2), NS, 'gamma');
          want.gammaExported = true;
        }
        writes++;
        await sleep(50 + Math.floor(random() * 200));
      }
    })();

    // One restart loop per agent, drawing from its own seeded stream, 50 restarts in all.
    const log: string[] = [];
    const lastStart = new Map<string, { at: number; mark: number }>();
    const restarter = async (i: number, count: number) => {
      const r = seededRandom(seed + i + 1);
      const name = c(i).name;
      for (let n = 0; n < count; n++) {
        // Mostly within the first 1.5 s (start-up, informer sync, first sync with the broker), sometimes in steady state.
        await sleep(r() < 0.3 ? 2000 + Math.floor(r() * 2000) : Math.floor(r() * 1500));
        const signal = r() < 0.5 ? 'SIGKILL' : 'SIGTERM';
        await mesh.stopAgent(name, signal);
        log.push(`${name}:${signal}`);
        await sleep(Math.floor(r() * 300));
        lastStart.set(name, { at: Date.now(), mark: agentLog(mesh, name).mark() });
        mesh.startAgent(name);
      }
    };
    const started = Date.now();
    await Promise.all([restarter(0, 17), restarter(1, 17), restarter(2, RESTARTS - 34)]);
    churning = false;
    await churn;
    const restartsMs = Date.now() - started;
    expect(log).toHaveLength(RESTARTS);
    for (const i of [0, 1, 2]) expect(mesh.agentRunning(c(i).name)).toBe(true);

    const settled = Date.now();
    for (const i of [0, 1, 2]) for (const [svc, [e, type]] of Object.entries(expected())) await untilExact(mesh, c(i), NS, svc, e, type, 90_000);
    const convergedMs = Date.now() - settled;
    // No import for anything that is not exported (an orphan would show up here).
    for (const i of [0, 1, 2]) {
      const names = (await serviceImports(c(i), NS)).map((s) => s.metadata.name).sort();
      expect(names).toEqual(want.gammaExported ? ['alpha', 'beta', 'gamma'] : ['alpha', 'beta']);
    }
    // How long the last start of each agent took to be ready (start-up dominates convergence).
    const readyMs = [0, 1, 2].map((i) => {
      const s = lastStart.get(c(i).name)!;
      const ready = agentLog(mesh, c(i).name).since(s.mark).find((l) => l.msg === 'agent ready');
      return ready ? `${c(i).name} ${(ready.time as number) - s.at} ms` : `${c(i).name} not ready`;
    });
    console.info(`[agent-restart-churn] seed ${seed}: last starts ready in ${readyMs.join(', ')}; ${RESTARTS} restarts (${log.filter((l) => l.endsWith('SIGKILL')).length} SIGKILL) `
      + `and ${writes} churn writes in ${restartsMs} ms; every cluster exact ${convergedMs} ms after the churn stopped`);
  }, 420_000);
});
