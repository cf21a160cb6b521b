// The floor for bench:gateway: the same extra hop as a gateway pair (two Node processes,
// TLS 1.3 between them with client certificates from the same root) with none of its work:
// no HTTP/2, no stream multiplexing, no authorization, no target in the stream, no metrics.
// Each TCP connection accepted by the "out" relay becomes one TLS connection to the "in"
// relay, which connects it to one fixed backend. One listener per route (a route is a
// fixed upstream port). Started by bench/gateway.ts as a child process; reads PLEXUS_RELAY
// (JSON) and prints {"ports":[N, ...]} once it listens.
import { createServer, connect, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsServer, type TLSSocket } from 'node:tls';

interface RelaySettings {
  role: 'out' | 'in';
  /** Per route, out: the in relay's port; in: the backend's port (all on 127.0.0.1). */
  upstreamPorts: number[];
  cert: string; key: string; ca: string;
}

const s = JSON.parse(process.env.PLEXUS_RELAY ?? '{}') as RelaySettings;

function pipeBoth(a: Socket | TLSSocket, b: Socket | TLSSocket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

function listen(upstreamPort: number): Promise<number> {
  const server = s.role === 'out'
    ? createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      const up = tlsConnect({ host: '127.0.0.1', port: upstreamPort, cert: s.cert, key: s.key, ca: s.ca, minVersion: 'TLSv1.3', servername: '', checkServerIdentity: () => undefined });
      up.setNoDelay(true);
      pipeBoth(client, up);
    })
    : tlsServer({ cert: s.cert, key: s.key, ca: s.ca, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, allowHalfOpen: true }, (peer) => {
      peer.setNoDelay(true);
      pipeBoth(peer, connect({ host: '127.0.0.1', port: upstreamPort, allowHalfOpen: true, noDelay: true }));
    });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    const addr = server.address();
    resolve(typeof addr === 'object' && addr ? addr.port : 0);
  }));
}

const ports = await Promise.all(s.upstreamPorts.map(listen));
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.on('SIGTERM', () => process.exit(0));
