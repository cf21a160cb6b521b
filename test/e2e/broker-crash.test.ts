// The broker SIGKILLed in the middle of a storm of export writes (issue 7). A cluster
// identity writes exports straight to the broker from several concurrent loops and
// records every acknowledgement; the broker is killed at a seeded random moment and
// started again on the same data directory. Every acknowledged write must be there (or
// the one write that was in flight and never answered), the agents must converge on
// exactly that state, and they must get there by resuming their watch from the revision
// they held — no GET /v1/catalog reaches the restarted broker, and no agent applies a
// snapshot — because the broker retains its event log across the crash.
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import type { ExportRecord, ExportSpecInput } from '../../broker/api/catalog.ts';
import type { BrokerClient } from '../../agent/broker-client/broker-client.ts';
import {
  agentLog, brokerLog, type ExpectedImport, extraClusterIdentity, importState, seedFromEnv, seededRandom, untilExact,
} from './support/faults.ts';
import { ensureNamespace } from './support/objects.ts';
import { useMesh } from './support/use-mesh.ts';
import { waitFor } from '../harness/wait-for.ts';

const WRITER = 'storm-writer';
const NS = 'storm';
const SERVICES = 6;

/** One write of one service: gen N upserts address(k, N), or withdraws when `present` is false. */
interface Write { gen: number; present: boolean }

const address = (k: number, gen: number) => `10.${60 + k}.${(gen >> 8) & 255}.${gen & 255}`;

function spec(k: number, gen: number): ExportSpecInput {
  return {
    cluster: WRITER, namespace: NS, name: `svc-${k}`, createdAt: '2026-01-01T00:00:00Z', type: 'Headless',
    ports: [{ name: 'http', protocol: 'TCP', port: 80 }], endpointPorts: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    endpoints: [{ addresses: [address(k, gen)], hostname: `h-${k}` }],
  };
}

/** Sequential writes to one service; every acknowledgement is recorded before the next write. */
class ServiceWriter {
  readonly k: number;
  acked: (Write & { revision: number }) | undefined;
  /** Writes sent after the last acknowledgement whose outcome is unknown. */
  unknown: Write[] = [];
  ackCount = 0;
  #gen = 0;
  readonly #client: BrokerClient;
  readonly #random: () => number;

  constructor(k: number, client: BrokerClient, random: () => number) {
    this.k = k;
    this.#client = client;
    this.#random = random;
  }

  /** Writes until `stop()` is true, then returns (one write may still be unanswered). */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      const w: Write = { gen: ++this.#gen, present: this.#random() > 0.15 };
      this.unknown.push(w);
      try {
        const r = w.present ? await this.#client.putExport(spec(this.k, w.gen)) : await this.#client.deleteExport(NS, `svc-${this.k}`);
        this.acked = { ...w, revision: r.revision };
        this.unknown = [];
        this.ackCount++;
      } catch {
        return; // the broker died under this write: its outcome stays unknown
      }
    }
  }

  /** Where the restored catalog may stand for this service: the last ack, or any unanswered write after it. */
  allowed(): Write[] {
    return [...(this.acked ? [this.acked] : [{ gen: 0, present: false }]), ...this.unknown];
  }
}

const stateOf = (rec: ExportRecord | undefined) => (rec ? rec.endpoints.flatMap((e) => e.addresses).join(',') : 'absent');
const stateOfWrite = (k: number, w: Write) => (w.present ? address(k, w.gen) : 'absent');

describe('broker killed with SIGKILL during a storm of export writes', () => {
  const fixture = useMesh({ clusters: 2, leaseDuration: '3s' });
  const seed = seedFromEnv();
  let writer: Awaited<ReturnType<typeof extraClusterIdentity>> | undefined;
  let beating = true;
  afterAll(async () => {
    beating = false;
    await writer?.client.close();
  });

  it('keeps every acknowledged write; agents converge by resuming from their revision, without a relist', async () => {
    onTestFailed(() => console.error(`[broker-crash] seed ${seed} (replay with PLEXUS_E2E_SEED=${seed})`));
    const random = seededRandom(seed);
    const mesh = fixture.mesh;
    for (const i of [0, 1]) await ensureNamespace(mesh.cluster(i), NS);
    writer = await extraClusterIdentity(mesh, WRITER);
    const { client } = writer;
    // The writer keeps its lease like an agent would (a third of the lease), through the restart too.
    const heartbeat = (async () => {
      while (beating) {
        await client.renewLease().catch(() => undefined);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    // Both agents are watching before the storm: the first export reaches both clusters.
    const watchedFrom = (await client.putExport(spec(0, 0))).revision;
    for (const i of [0, 1]) {
      await waitFor(async () => (await importState(mesh, mesh.cluster(i), NS, 'svc-0')).sources[WRITER]?.length === 1, { what: `svc-0 imported in cluster-${i + 1}`, timeoutMs: 60_000 });
    }

    const writers = Array.from({ length: SERVICES }, (_, k) => new ServiceWriter(k, client, random));
    let killed = false;
    const storm = writers.map((w) => w.run(() => killed));
    const killAfter = 100 + Math.floor(random() * 150);
    await waitFor(async () => writers.reduce((n, w) => n + w.ackCount, 0) >= killAfter, { what: `${killAfter} acknowledged writes`, timeoutMs: 60_000 });
    const brokerMark = brokerLog(mesh).mark();
    const agentMarks = [0, 1].map((i) => agentLog(mesh, mesh.cluster(i).name).mark());
    const maxAcked = () => Math.max(...writers.map((w) => w.acked?.revision ?? 0));
    await mesh.stopBroker('SIGKILL');
    killed = true;
    await Promise.all(storm);
    const acknowledged = writers.reduce((n, w) => n + w.ackCount, 0);
    const unanswered = writers.filter((w) => w.unknown.length > 0).length;

    const restartedAt = Date.now();
    await mesh.startBroker();
    const restored = await waitFor(async () => client.listExports().catch(() => undefined), { what: 'the restarted broker answers' });
    expect(restored.revision).toBeGreaterThanOrEqual(maxAcked());
    for (const w of writers) {
      const got = stateOf(restored.exports.find((e) => e.name === `svc-${w.k}`));
      expect(w.allowed().map((a) => stateOfWrite(w.k, a)), `svc-${w.k}: restored ${got}`).toContain(got);
    }

    // The agents converge on exactly the restored catalog.
    const expected = (k: number): ExpectedImport => {
      const rec = restored.exports.find((e) => e.name === `svc-${k}`);
      return rec ? { [WRITER]: rec.endpoints.flatMap((e) => e.addresses) } : {};
    };
    for (const i of [0, 1]) {
      for (let k = 0; k < SERVICES; k++) {
        await untilExact(mesh, mesh.cluster(i), NS, `svc-${k}`, expected(k), 'Headless');
      }
    }
    const convergedMs = Date.now() - restartedAt;

    // Resumed, not relisted: the restarted broker served watches from a revision, never the snapshot.
    const served = brokerLog(mesh).since(brokerMark);
    const watches = served.filter((l) => l.msg === 'watch started');
    expect(served.filter((l) => l.msg === 'catalog snapshot served' || l.msg === 'watch cannot resume; relist sent')).toEqual([]);
    for (const i of [0, 1]) {
      const mine = watches.filter((l) => l.cluster === mesh.cluster(i).name).map((l) => l.since as number);
      expect(mine.length, `watches from cluster-${i + 1}`).toBeGreaterThanOrEqual(1);
      for (const since of mine) {
        // At least the revision that brought svc-0, which both agents had applied: a resume, not a start from scratch.
        expect(since).toBeGreaterThanOrEqual(watchedFrom);
        expect(since).toBeLessThanOrEqual(restored.revision);
      }
    }
    for (const i of [0, 1]) {
      const lines = agentLog(mesh, mesh.cluster(i).name).since(agentMarks[i]!);
      expect(lines.filter((l) => l.msg === 'catalog snapshot applied' || l.msg === 'broker asked for a relist')).toEqual([]);
      expect(lines.some((l) => l.msg === 'catalog watch failed; retrying' || l.msg === 'broker closed the watch stream; resuming')).toBe(true);
    }

    // Writes after the restart arrive too, and the end state is exact everywhere.
    for (const w of writers) await client.putExport(spec(w.k, 10_000 + w.k));
    for (const i of [0, 1]) {
      for (let k = 0; k < SERVICES; k++) {
        const want = { [WRITER]: [address(k, 10_000 + k)] };
        await untilExact(mesh, mesh.cluster(i), NS, `svc-${k}`, want, 'Headless');
      }
    }
    beating = false;
    await heartbeat;
    console.info(`[broker-crash] seed ${seed}: ${acknowledged} writes acknowledged before SIGKILL, ${unanswered} unanswered; `
      + `restored revision ${restored.revision}; agents resumed from ${JSON.stringify(watches.map((l) => [l.cluster, l.since]))}; converged ${convergedMs} ms after restart`);
  }, 240_000);
});
