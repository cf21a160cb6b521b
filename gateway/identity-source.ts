// Where `plexus gateway run` reads its cluster identity: a joined agent's identity.json
// (--identity-dir, the agent's --data-dir; the agent's rotation rewrites it) or three PEM
// files (--cert, --key, --ca; mounted from the agent's Secret in a cluster). Read again on
// every reload tick; only a changed and valid identity is applied, so a half-written or
// wrong file never replaces a working one.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { checkStoredIdentity } from '../agent/identity/identity-store.ts';
import { TrustBundle } from '../certs/trust-bundle.ts';
import { verifyLeaf } from '../certs/verify.ts';
import type { GatewayIdentitySource } from './config.ts';
import { GatewayError } from './errors.ts';
import type { GatewayTls } from './server.ts';

export interface GatewayIdentity {
  readonly tls: GatewayTls;
  readonly cluster: string;
  readonly clusterset: string;
  readonly serial: string;
}

async function read(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new GatewayError('PLX_GATEWAY_IDENTITY', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

export async function readGatewayTls(source: GatewayIdentitySource): Promise<GatewayTls> {
  if (source.kind === 'files') {
    const [certPem, keyPem, trustBundlePem] = await Promise.all([read(source.certFile), read(source.keyFile), read(source.caFile)]);
    return { certPem, keyPem, trustBundlePem };
  }
  const file = path.join(source.dataDir, 'identity.json');
  try {
    const stored = checkStoredIdentity(JSON.parse(await read(file)), file);
    return { certPem: stored.certPem, keyPem: stored.keyPem, trustBundlePem: stored.trustBundle };
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('PLX_GATEWAY_IDENTITY', `cannot use ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The identity must be a cluster's, valid now for both ends of a gateway connection. */
export async function checkGatewayIdentity(tls: GatewayTls, now: Date): Promise<GatewayIdentity> {
  try {
    const bundle = TrustBundle.fromPem(tls.trustBundlePem);
    const leaf = await verifyLeaf({ certPem: tls.certPem, bundle, now, usage: 'serverAuth' });
    await verifyLeaf({ certPem: tls.certPem, bundle, now, usage: 'clientAuth' });
    if (leaf.identity?.kind !== 'cluster') throw new Error('the certificate does not name spiffe://<clusterset>/cluster/<id>');
    return { tls, cluster: leaf.identity.name, clusterset: leaf.identity.trustDomain, serial: leaf.serial };
  } catch (err) {
    throw new GatewayError('PLX_GATEWAY_IDENTITY', `the gateway's identity is not usable: ${(err as Error).message}`, { cause: err });
  }
}
