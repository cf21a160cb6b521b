// The client pods of the failover suites log one line per request in plexus.local/lab-tools
// (busybox + dash). This runs requestLoopPod's script in that image's own root filesystem
// (chroot; needs root, like every real-node test) against a local web server, and reads the
// output back with the parser the suites use. No lab: seconds, not minutes.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveNodeBinaries } from '../harness/binaries.ts';
import { parseRequestLog, requestLoopPod } from './support/request-log.ts';

const run = promisify(execFile);

describe('requestLoopPod in the lab-tools image', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-request-log-'));
  const root = path.join(dir, 'root');
  const server = createServer((_req, res) => res.end('served-by cluster-x web-1\n'));

  beforeAll(async () => {
    const bins = resolveNodeBinaries();
    const tar = path.join(bins.cacheRoot, 'images', `lab-tools-${bins.versions.LAB_TOOLS_TAG}.tar`);
    await run('tar', ['xf', tar, '-C', dir]);
    const [manifest] = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    await run('mkdir', ['-p', root]);
    for (const layer of manifest!.Layers) await run('tar', ['xf', path.join(dir, layer), '-C', root]);
    await run('mkdir', ['-p', path.join(root, 'proc')]);
    await run('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    server.close();
    await run('umount', [path.join(root, 'proc')]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes lines requestLog can read (millisecond epoch, served-by), not "<seconds>%3N" with an empty body', async () => {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const pod = requestLoopPod('ns', 'client', url) as { spec: { containers: { command: string[] }[] } };
    const [sh, flag, script] = pod.spec.containers[0]!.command;
    const start = Date.now();
    // timeout(1) ends the endless loop; its exit status 124 is expected.
    const out = await run('timeout', ['4', 'chroot', root, sh!, flag!, script!]).then((r) => r.stdout, (e: { stdout: string }) => e.stdout);
    const end = Date.now();

    const log = parseRequestLog(out);
    expect(log.length, out.slice(0, 300)).toBeGreaterThanOrEqual(5);
    expect(log.every((r) => r.ok && r.servedBy === 'cluster-x' && r.body === 'served-by cluster-x web-1')).toBe(true);
    // The clock is the wall clock to within /proc/uptime's 10 ms, and it only moves forward.
    expect(log[0]!.at).toBeGreaterThanOrEqual(start - 20);
    expect(log.at(-1)!.at).toBeLessThanOrEqual(end + 20);
    expect(log.every((r, i) => i === 0 || r.at >= log[i - 1]!.at)).toBe(true);
  });
});
