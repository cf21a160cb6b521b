// The broker's HTTPS identity, issued from the root at start (its key lives only in
// memory). Agents verify the broker against the trust bundle, so the certificate must
// name every address they dial: the listen host, loopback, and any --san.
import { isIP } from 'node:net';
import type { CertificateAuthority } from '../certs/ca.ts';
import { issueCertificate } from '../certs/issue.ts';
import { exportPrivateKeyPem, generateKeyPair } from '../certs/keys.ts';
import { renewalTime } from '../certs/renewal.ts';

export interface ServingCertificate {
  readonly keyPem: string;
  readonly certPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const UNSPECIFIED = new Set(['0.0.0.0', '::', '::0']);

export function servingNames(listenHost: string, sans: readonly string[]): { dnsNames: string[]; ipAddresses: string[] } {
  const all = [listenHost, 'localhost', '127.0.0.1', '::1', ...sans].filter((n) => !UNSPECIFIED.has(n));
  const unique = [...new Set(all)];
  return { dnsNames: unique.filter((n) => isIP(n) === 0), ipAddresses: unique.filter((n) => isIP(n) !== 0) };
}

export async function issueServingCertificate(o: {
  ca: CertificateAuthority; listenHost: string; sans: readonly string[]; lifetimeSeconds: number; now: Date;
}): Promise<ServingCertificate> {
  const keys = await generateKeyPair('P-256');
  const issued = await issueCertificate({
    ca: o.ca,
    publicKey: keys.publicKey,
    commonName: 'plexus-broker',
    ...servingNames(o.listenHost, o.sans),
    usages: ['serverAuth'],
    lifetimeSeconds: o.lifetimeSeconds,
    now: o.now,
  });
  return {
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    certPem: issued.certPem,
    notBefore: o.now,
    notAfter: issued.notAfter,
  };
}

const MAX_TIMER_MS = 24 * 3600 * 1000;

/**
 * Re-issues the serving certificate at about 2/3 of its life and hands it to `apply`
 * (server.setSecureContext), so a long-running broker never serves an expired one.
 * Timers run on real time; the due time is read from the clock.
 */
export function scheduleServingCertRotation(o: {
  current: ServingCertificate;
  issue: () => Promise<ServingCertificate>;
  apply: (cert: ServingCertificate) => void;
  clock: { now(): Date };
  onError: (err: unknown) => void;
}): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (cert: ServingCertificate): void => {
    if (stopped) return;
    const due = renewalTime({ notBefore: cert.notBefore, notAfter: cert.notAfter, random: Math.random });
    const delay = Math.min(Math.max(due.getTime() - o.clock.now().getTime(), 1000), MAX_TIMER_MS);
    timer = setTimeout(() => {
      if (o.clock.now() < due) return schedule(cert);
      o.issue().then((next) => {
        o.apply(next);
        schedule(next);
      }, (err: unknown) => {
        o.onError(err);
        schedule(cert);
      });
    }, delay);
    timer.unref();
  };
  schedule(o.current);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
