// Acknowledged catalog writes survive SIGKILL: a real `plexus broker start` process takes
// writes over mTLS, is killed without warning, and a broker started on the same data
// directory serves every acknowledged export at the same revision, with its event log.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogPaths, catalogSnapshotSchema, exportWriteResponseSchema } from '../../broker/api/catalog.ts';
import { parseBrokerConfig } from '../../broker/config.ts';
import { dataDirLayout } from '../../broker/data-dir.ts';
import { initBroker } from '../../broker/init.ts';
import { startBroker, type RunningBroker } from '../../broker/main.ts';
import { callBroker, joinCluster, type TestBroker } from './support/broker-fixture.ts';
import { exportSpec, putExport, watch, type ClusterClient } from './support/catalog-fixture.ts';
import { waitFor } from '../harness/wait-for.ts';

const repo = resolve(import.meta.dirname, '../..');

describe('catalog durability', () => {
  const root = mkdtempSync(join(tmpdir(), 'plexus-catalog-kill-'));
  const dataDir = join(root, 'broker');
  let child: ChildProcess | undefined;
  let restarted: RunningBroker | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    await restarted?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  /** Enough of a TestBroker for the fixture's join and call helpers. */
  function handle(url: string): TestBroker {
    const layout = dataDirLayout(dataDir);
    const caPem = readFileSync(layout.adminCa, 'utf8');
    const admin = { certPem: readFileSync(layout.adminCert, 'utf8'), keyPem: readFileSync(layout.adminKey, 'utf8') };
    return { url, caPem, admin, clusterset: 'acme.example', call: (p, o) => callBroker(url, caPem, p, o) } as TestBroker;
  }

  it('keeps every acknowledged write after SIGKILL', async () => {
    await initBroker({ dataDir, clusterset: 'acme.example', now: new Date() });
    child = spawn(process.execPath, [join(repo, 'bin/plexus.ts'), 'broker', 'start', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--log-level', 'warn'],
      { cwd: repo, stdio: 'ignore' });
    const brokerJson = dataDirLayout(dataDir).brokerJson;
    const info = await waitFor(() => {
      if (!existsSync(brokerJson)) return undefined;
      const i = JSON.parse(readFileSync(brokerJson, 'utf8')) as { url: string; pid: number };
      return i.pid === child!.pid ? i : undefined;
    }, { what: 'broker.json', intervalMs: 10 });
    const b = handle(info.url);
    const east: ClusterClient = { id: 'east', identity: (await joinCluster(b, 'east')).identity };

    let acknowledged = 0;
    for (let i = 0; i < 20; i++) {
      const r = await putExport(b, east, exportSpec('east', 'shop', `svc-${i}`));
      expect(r.status).toBe(200);
      acknowledged = exportWriteResponseSchema.parse(r.body).revision;
    }
    child.kill('SIGKILL');
    await once(child, 'exit');

    restarted = await startBroker(parseBrokerConfig({ dataDir, listen: '127.0.0.1:0', logLevel: 'silent' }), { logger: pino({ level: 'silent' }) });
    const after = handle(restarted.url);
    const snap = catalogSnapshotSchema.parse((await after.call(catalogPaths.catalog, { identity: east.identity })).body);
    expect(snap.revision).toBe(acknowledged);
    expect(snap.exports.map((e) => e.name).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `svc-${i}`).sort());

    const w = watch(after, east, 0);
    await w.waitFor((es) => es.some((e) => e.type === 'bookmark'), 'caught up');
    expect(w.changes.map((e) => e.revision)).toEqual(Array.from({ length: acknowledged }, (_, i) => i + 1));
    await w.close();
  });
});
