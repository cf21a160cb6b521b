// bench:gateway — the east-west gateway pair against direct TCP and a bare TLS relay, on
// loopback. Three paths from this process (client) to backends in this process:
//   direct   client → backend (the "routed pod network" figure on one host)
//   relay    client → bare TLS relay out → TLS 1.3 → relay in → backend (bench/bare-tls-relay.ts:
//            the floor of any extra hop; one TLS connection per TCP connection, no authorization)
//   gateway  client → `plexus gateway run` (west, --forward) → HTTP/2 CONNECT over TLS 1.3 →
//            `plexus gateway run` (east, export table, membership) → backend
// Connect latency: connect, send one byte, receive its echo (sequential, paths interleaved
// round by round). Throughput: one stream, then 32 concurrent streams, of bytes sent by a
// source backend. CPU: utime+stime of the hop's processes over the throughput runs, per GB.
// Targets (issue 17): connect p50 added ≤ 1 ms; one-stream throughput ≥ 50% of the relay's.
import '../certs/setup.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { GatewayPki } from '../test/support/gateway-pki.ts';
import { plexusBin, repoRoot } from '../test/support/plexus-process.ts';
import { cpuMs } from './proc-sampler.ts';
import { percentile, recordBenchmark } from './record.ts';

const LATENCY_ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 1000);
const WARMUP_ROUNDS = 100;
const ONE_STREAM_BYTES = 256 * 2 ** 20;
const STREAMS = 32;
const RUNS = Number(process.env.BENCH_GATEWAY_RUNS ?? 5);

type PathName = 'direct' | 'relay' | 'gateway';
interface PathPorts { source: number; echo: number; pids: number[] }

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/** Sends as many bytes as the client asks for in its first 8 bytes (big-endian), then ends. */
function sourceServer(): Server {
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  return createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      if (head.length < 8) return;
      s.off('data', onData);
      let left = Number(head.readBigUInt64BE(0));
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    };
    s.on('data', onData);
  });
}

function echoServer(): Server {
  return createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
}

function firstJsonLine<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.once('exit', (code) => reject(new Error(`${what} exited ${code}: ${err}`)));
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l) as T));
  });
}

function gatewayProcess(args: string[]): ChildProcess {
  return spawn(process.execPath, [plexusBin, 'gateway', 'run', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBERNETES_SERVICE_HOST: '' } });
}

function relayProcess(settings: object): ChildProcess {
  return spawn(process.execPath, [path.join(import.meta.dirname, 'bare-tls-relay.ts')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PLEXUS_RELAY: JSON.stringify(settings) } });
}

/** Connect, send one byte, wait for its echo: ms. */
function pingOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    s.once('error', reject);
    s.once('data', () => {
      const ms = performance.now() - t0;
      s.destroy();
      resolve(ms);
    });
    s.write('x');
  });
}

/** Download `bytes` from the source through `port`: resolves when all arrived. */
function download(port: number, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    let got = 0;
    s.on('data', (d: Buffer) => { got += d.length; });
    s.once('error', reject);
    s.once('end', () => (got === bytes ? resolve() : reject(new Error(`got ${got} of ${bytes} bytes`))));
    const head = Buffer.alloc(8);
    head.writeBigUInt64BE(BigInt(bytes));
    s.write(head);
  });
}

async function throughput(port: number, streams: number, total: number): Promise<number> {
  const t0 = performance.now();
  await Promise.all(Array.from({ length: streams }, () => download(port, total / streams)));
  return total / 2 ** 20 / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sumCpu = (pids: number[]) => pids.reduce((t, pid) => t + cpuMs(pid), 0);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plexus-bench-gateway-'));
  const children: ChildProcess[] = [];
  const source = sourceServer();
  const echo = echoServer();
  try {
    const sourcePort = await listen(source);
    const echoPort = await listen(echo);
    const pki = await GatewayPki.create('bench.example');
    const east = await pki.issue('east');
    const west = await pki.issue('west');
    const file = (name: string, text: string) => {
      const p = path.join(dir, name);
      writeFileSync(p, text, { mode: 0o600 });
      return p;
    };
    const ca = file('ca.pem', pki.rootPem);
    const exportsFile = file('exports.json', JSON.stringify({ exports: [
      { namespace: 'bench', name: 'source', ports: [{ port: 80, backends: [`127.0.0.1:${sourcePort}`] }] },
      { namespace: 'bench', name: 'echo', ports: [{ port: 80, backends: [`127.0.0.1:${echoPort}`] }] },
    ] }));

    const eastGw = gatewayProcess(['--listen', '127.0.0.1:0', '--cert', file('east.crt', east.certPem), '--key', file('east.key', east.keyPem), '--ca', ca,
      '--exports', exportsFile, '--member', 'west', '--metrics-listen', 'off', '--log-level', 'warn']);
    children.push(eastGw);
    const eastReady = await firstJsonLine<{ gateway: number }>(eastGw, 'east gateway');
    const westGw = gatewayProcess(['--listen', '127.0.0.1:0', '--cert', file('west.crt', west.certPem), '--key', file('west.key', west.keyPem), '--ca', ca,
      '--metrics-listen', 'off', '--log-level', 'warn',
      '--forward', `127.0.0.1:0=east@127.0.0.1:${eastReady.gateway}/source.bench.svc:80`,
      '--forward', `127.0.0.1:0=east@127.0.0.1:${eastReady.gateway}/echo.bench.svc:80`]);
    children.push(westGw);
    const westReady = await firstJsonLine<{ forwards: number[] }>(westGw, 'west gateway');

    const tlsFiles = { cert: west.certPem, key: west.keyPem, ca: pki.rootPem };
    const relayIn = relayProcess({ role: 'in', upstreamPorts: [sourcePort, echoPort], ...tlsFiles });
    children.push(relayIn);
    const inPorts = (await firstJsonLine<{ ports: number[] }>(relayIn, 'relay in')).ports;
    const relayOut = relayProcess({ role: 'out', upstreamPorts: inPorts, ...tlsFiles });
    children.push(relayOut);
    const outPorts = (await firstJsonLine<{ ports: number[] }>(relayOut, 'relay out')).ports;

    const paths: Record<PathName, PathPorts> = {
      direct: { source: sourcePort, echo: echoPort, pids: [] },
      relay: { source: outPorts[0]!, echo: outPorts[1]!, pids: [relayOut.pid!, relayIn.pid!] },
      gateway: { source: westReady.forwards[0]!, echo: westReady.forwards[1]!, pids: [westGw.pid!, eastGw.pid!] },
    };
    const names = Object.keys(paths) as PathName[];

    // Connect latency. Direct and gateway interleaved round by round, so load changes hit
    // both alike; the relay in a phase of its own: its per-connection TLS handshakes leave its
    // two processes busy after each round trip, and interleaved they slowed the next path's
    // round (gateway added p50 2.0 ms interleaved with it, 1.2 ms without, same hour).
    const samples: Record<PathName, number[]> = { direct: [], relay: [], gateway: [] };
    const rounds = async (group: PathName[]) => {
      for (let i = 0; i < WARMUP_ROUNDS + LATENCY_ROUNDS; i++) {
        for (const n of group) {
          const ms = await pingOnce(paths[n].echo);
          if (i >= WARMUP_ROUNDS) samples[n].push(ms);
        }
      }
    };
    await rounds(['direct', 'gateway']);
    await rounds(['relay']);
    const lat = Object.fromEntries(names.map((n) => {
      const sorted = [...samples[n]].sort((a, b) => a - b);
      return [n, { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }];
    })) as Record<PathName, { p50: number; p99: number }>;

    // Throughput, paths interleaved run by run (the machine's load varies; every path gets
    // its share of each phase), CPU of each hop's processes summed over its own runs only.
    const one: Record<PathName, number[]> = { direct: [], relay: [], gateway: [] };
    const many: Record<PathName, number[]> = { direct: [], relay: [], gateway: [] };
    const cpuMsOf: Record<PathName, number> = { direct: 0, relay: 0, gateway: 0 };
    for (const n of names) await download(paths[n].source, 8 * 2 ** 20);
    for (let r = 0; r < RUNS; r++) {
      for (const n of names) {
        const cpu0 = sumCpu(paths[n].pids);
        one[n].push(await throughput(paths[n].source, 1, ONE_STREAM_BYTES));
        many[n].push(await throughput(paths[n].source, STREAMS, ONE_STREAM_BYTES));
        cpuMsOf[n] += sumCpu(paths[n].pids) - cpu0;
      }
    }
    const gb = (2 * RUNS * ONE_STREAM_BYTES) / 1e9;
    const tp = Object.fromEntries(names.map((n) => [n, { one: median(one[n]), many: median(many[n]), cpuSPerGb: cpuMsOf[n] / 1000 / gb }])) as Record<PathName, { one: number; many: number; cpuSPerGb: number }>;
    for (const n of names) process.stderr.write(`${n}: one stream ${one[n].map((x) => x.toFixed(0)).join(' ')} MiB/s; ${STREAMS} streams ${many[n].map((x) => x.toFixed(0)).join(' ')} MiB/s\n`);

    const added = lat.gateway.p50 - lat.direct.p50;
    const oneRatio = tp.gateway.one / tp.relay.one;
    const row = (n: PathName, label: string) => [
      label, lat[n].p50.toFixed(3), lat[n].p99.toFixed(3), (lat[n].p50 - lat.direct.p50).toFixed(3),
      tp[n].one.toFixed(0), `${(tp[n].one / tp.relay.one).toFixed(2)}×`, tp[n].many.toFixed(0), `${(tp[n].many / tp.relay.many).toFixed(2)}×`,
      n === 'direct' ? '' : tp[n].cpuSPerGb.toFixed(2),
    ];
    recordBenchmark({
      title: 'bench:gateway — east-west gateway pair vs direct TCP and a bare TLS relay (loopback)',
      columns: ['path', 'connect p50 ms', 'connect p99 ms', 'added p50 ms', '1 stream MiB/s', '1 stream / relay', `${STREAMS} streams MiB/s`, `${STREAMS} streams / relay`, 'hop CPU s per GB'],
      rows: [row('direct', 'direct TCP (routed pod network)'), row('relay', 'bare TLS relay pair (floor)'), row('gateway', 'gateway pair (plexus gateway run ×2)')],
      notes: [
        `Connect p50 added by the gateway pair: ${added.toFixed(3)} ms (target ≤ 1 ms, ${added <= 1 ? 'met' : 'missed'}).`,
        `One-stream throughput: ${(oneRatio * 100).toFixed(0)}% of the bare relay's (target ≥ 50%, ${oneRatio >= 0.5 ? 'met' : 'missed'}).`,
        `Connect latency: ${LATENCY_ROUNDS} rounds after ${WARMUP_ROUNDS} warm-up, each a new TCP connection to the path, one byte sent and its echo received; direct and gateway interleaved round by round, the relay in its own phase after them (interleaved, its handshakes' CPU slowed the round after it). `
          + 'Through the gateway the stream rides an HTTP/2 session already open (2 per peer), so no TLS handshake is in it; the bare relay makes a TLS 1.3 handshake per connection, which is its p50.',
        `Throughput: a source backend sends ${ONE_STREAM_BYTES / 2 ** 20} MiB in total, over one stream or over ${STREAMS} concurrent streams (${ONE_STREAM_BYTES / 2 ** 20 / STREAMS} MiB each); median of ${RUNS} runs each, the three paths interleaved run by run. `
          + 'Client and backends share this process; the hop\'s two processes are separate Node processes; everything shares the machine\'s 2 cores.',
        'Hop CPU: utime+stime of the two hop processes over the throughput runs of their path, divided by the bytes carried (GB = 10^9 bytes): the figure least affected by other load on the machine.',
        'The gateway pair does per stream what the relay does not: h2 framing and flow control, the CONNECT target parsed and looked up in the export table, the peer\'s expiry, root, revocation and membership checked, and metrics; TLS between the two is TLS 1.3 with client certificates on both.',
      ],
    });
  } finally {
    for (const c of children) c.kill('SIGTERM');
    source.close();
    echo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) await main();
