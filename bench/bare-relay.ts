// The physical floor for bench:proxy: the same extra hop as the access proxy (a separate
// Node process terminating TLS 1.3 and forwarding over a keep-alive TLS pool to the API
// server) with none of its work — no client-certificate authentication, no impersonation,
// no audit line, no metrics. Started by bench/proxy.ts as a child process; reads its
// settings from PLEXUS_RELAY (JSON) and prints {"port":N} once it listens.
import https from 'node:https';
import type { OutgoingHttpHeaders } from 'node:http';

interface RelaySettings { upstream: string; ca: string; cert: string; key: string; serverCert: string; serverKey: string }

const s = JSON.parse(process.env.PLEXUS_RELAY ?? '{}') as RelaySettings;
const up = new URL(s.upstream);
const pool = new https.Agent({ keepAlive: true, ca: s.ca, cert: s.cert, key: s.key });
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host']);

const server = https.createServer({ key: s.serverKey, cert: s.serverCert, minVersion: 'TLSv1.3' }, (req, res) => {
  const headers: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !hopByHop.has(k)) headers[k] = v;
  const out = https.request({ hostname: up.hostname, port: up.port, method: req.method, path: req.url, headers, agent: pool }, (upRes) => {
    const back: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !hopByHop.has(k)) back[k] = v;
    res.writeHead(upRes.statusCode ?? 502, back);
    upRes.pipe(res);
  });
  out.on('error', () => res.destroy());
  req.pipe(out);
});
server.on('secureConnection', (socket) => socket.setNoDelay(true));
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
