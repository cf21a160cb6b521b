// A man in the middle for the first contact of `plexus agent join` and `plexus login`: a
// real TLS 1.3 server whose serving certificate comes from its own root, that answers the
// unauthenticated trust-bundle fetch with the real root plus its own, and relays everything
// else (the token included) to the real broker. It records every token it was handed.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { createRootCa } from '../../../certs/ca.ts';
import { issueCertificate } from '../../../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../../../certs/keys.ts';
import { fingerprintSha256 } from '../../../certs/pem.ts';
import { paths } from '../../../broker/api/types.ts';

export interface MitmBroker {
  readonly url: string;
  /** Fingerprint of the attacker's own root. */
  readonly rootFingerprint: string;
  /** Request bodies that reached the interceptor, trust-bundle fetches excepted. */
  readonly seenBodies: string[];
  stop(): Promise<void>;
}

export async function startMitmBroker(real: { url: string; caPem: string; clusterset: string }): Promise<MitmBroker> {
  const now = new Date();
  const { ca } = await createRootCa({ clusterset: real.clusterset, now, commonName: 'interceptor root' });
  const keys = await generateKeyPair('P-256');
  const serving = await issueCertificate({ ca, publicKey: keys.publicKey, commonName: '127.0.0.1', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usages: ['serverAuth'], lifetimeSeconds: 3600, now });
  const upstream = new Agent({ connect: { ca: real.caPem, minVersion: 'TLSv1.3' } });
  const seenBodies: string[] = [];
  const server: Server = createServer({ key: await exportPrivateKeyPem(keys.privateKey), cert: serving.certPem, minVersion: 'TLSv1.3' }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void (async () => {
      if (req.method === 'GET' && req.url === paths.trustBundle) {
        const bundle = real.caPem + ca.certPem;
        const body = JSON.stringify({ clusterset: real.clusterset, trustBundle: bundle, fingerprints: [fingerprintSha256(real.caPem), fingerprintSha256(ca.certPem)] });
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      seenBodies.push(body);
      const r = await request(new URL(req.url ?? '/', real.url), {
        method: req.method as 'POST', dispatcher: upstream,
        ...(body ? { body, headers: { 'content-type': 'application/json' } } : {}),
      });
      res.writeHead(r.statusCode, { 'content-type': 'application/json' }).end(await r.body.text());
    })().catch((e: unknown) => res.writeHead(502).end(String(e))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    rootFingerprint: fingerprintSha256(ca.certPem),
    seenBodies,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}
