// A receiving gateway ("east") on loopback in front of a real TCP echo backend, with its log
// lines captured, and helpers to reach it: through a sending gateway (GatewayClient + a
// local Forward, as the agent will wire them) or with a raw HTTP/2 CONNECT from any
// certificate (to send what a well-behaved sender never would).
import { connect as h2connect } from 'node:http2';
import { createServer, connect as tcpConnect, type Server, type AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { GatewayClient } from '../../../gateway/client.ts';
import { ExportTable } from '../../../gateway/export-table.ts';
import { Forward } from '../../../gateway/forward.ts';
import { GatewayMetrics } from '../../../gateway/metrics.ts';
import { GatewayServer } from '../../../gateway/server.ts';
import type { GatewayTls } from '../../../gateway/server.ts';
import type { ServiceTarget } from '../../../gateway/target.ts';
import { GatewayPki, type IssuedCluster } from '../../support/gateway-pki.ts';

export type LogLine = Record<string, unknown> & { msg: string };

export function capturingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

/** A TCP echo server that keeps half-close: it ends its side when the client ended. */
export async function startEcho(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer({ allowHalfOpen: true }, (s) => {
    connections++;
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port, connections: () => connections };
}

export interface EastGateway {
  readonly pki: GatewayPki;
  readonly east: IssuedCluster;
  readonly server: GatewayServer;
  readonly port: number;
  readonly metrics: GatewayMetrics;
  readonly lines: LogLine[];
  readonly members: Set<string>;
  readonly revoked: Set<string>;
  readonly echoPort: number;
  /** Connections the echo backend has accepted so far. */
  backendConnections(): number;
  stop(): Promise<void>;
}

/** east exports demo/echo on port 80 (backend: the echo server); members: those given. */
export async function startEast(o: { pki?: GatewayPki; members: string[] }): Promise<EastGateway> {
  const pki = o.pki ?? await GatewayPki.create('acme.example');
  const east = await pki.issue('east');
  const echo = await startEcho();
  const { logger, lines } = capturingLogger();
  const metrics = new GatewayMetrics();
  const members = new Set(o.members);
  const revoked = new Set<string>();
  const server = new GatewayServer({
    host: '127.0.0.1', port: 0, clusterset: pki.clusterset, tls: east, metrics, logger,
    exports: ExportTable.from([{ namespace: 'demo', name: 'echo', ports: [{ port: 80, backends: [`127.0.0.1:${echo.port}`] }] }]),
    membership: { isMember: (c) => members.has(c), isRevoked: (s) => revoked.has(s) },
  });
  const port = await server.start();
  return {
    pki, east, server, port, metrics, lines, members, revoked, echoPort: echo.port, backendConnections: echo.connections,
    stop: async () => {
      await server.close();
      await new Promise<void>((r) => echo.server.close(() => r()));
    },
  };
}

export const ECHO: ServiceTarget = { namespace: 'demo', name: 'echo', port: 80 };

export interface Sender {
  readonly client: GatewayClient;
  readonly metrics: GatewayMetrics;
  readonly lines: LogLine[];
  forward(target?: ServiceTarget): Promise<Forward>;
  stop(): Promise<void>;
}

/** A sending gateway for `tls` whose forwards reach east's gateway. */
export function sender(east: EastGateway, tls: GatewayTls, o: { sessionsPerPeer?: number } = {}): Sender {
  const { logger, lines } = capturingLogger();
  const metrics = new GatewayMetrics();
  const client = new GatewayClient({ clusterset: east.pki.clusterset, tls, metrics, logger, sessionsPerPeer: o.sessionsPerPeer ?? 1 });
  const forwards: Forward[] = [];
  return {
    client, metrics, lines,
    forward: async (target = ECHO) => {
      const f = new Forward({ host: '127.0.0.1', port: 0, peer: { cluster: 'east', host: '127.0.0.1', port: east.port }, target, client, metrics, logger });
      await f.start();
      forwards.push(f);
      return f;
    },
    stop: async () => {
      for (const f of forwards) await f.close();
      client.close();
    },
  };
}

/** Sends `payload` on a new TCP connection to `port`, half-closes, and returns all it got back. */
export function roundTrip(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.end(payload);
  });
}

/** One raw CONNECT from any certificate (or none); the answer's status and refusal reason. */
export function rawConnect(port: number, o: { authority: string; method?: string; cert?: string; key?: string; ca: string }): Promise<{ status: number; reason: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${port}`, {
      ca: o.ca, cert: o.cert, key: o.key, minVersion: 'TLSv1.3', servername: '', checkServerIdentity: () => undefined,
    });
    session.on('error', reject);
    const headers = o.method && o.method !== 'CONNECT'
      ? { ':method': o.method, ':authority': o.authority, ':path': '/', ':scheme': 'https' }
      : { ':method': 'CONNECT', ':authority': o.authority };
    const req = session.request(headers, { endStream: false });
    req.on('error', reject);
    req.on('response', (h) => {
      resolve({ status: Number(h[':status']), reason: h['plexus-refusal'] as string | undefined });
      session.destroy();
    });
  });
}
