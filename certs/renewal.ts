// When to renew a certificate: at a fraction of its lifetime (2/3 by default, as
// cert-manager does) moved by random jitter, so a fleet enrolled at the same moment does
// not renew in the same second. Computed from the certificate's own dates and an
// injected random source; no clock is read here.
import { CertError } from './errors.ts';

export interface RenewalOptions {
  notBefore: Date;
  notAfter: Date;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Default 2/3. */
  fraction?: number;
  /** Default 0.1: the time moves by up to ±10% of the lifetime. */
  jitter?: number;
}

function badArgument(message: string): CertError {
  return new CertError('PLX_CERTS_BAD_ARGUMENT', message);
}

/** notBefore + lifetime × (fraction + jitter × (2r − 1)), clamped strictly inside (notBefore, notAfter). */
export function renewalTime(o: RenewalOptions): Date {
  const start = o.notBefore instanceof Date ? o.notBefore.getTime() : NaN;
  const end = o.notAfter instanceof Date ? o.notAfter.getTime() : NaN;
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw badArgument('notBefore and notAfter must be valid Dates');
  const lifetime = end - start;
  if (lifetime < 2) throw badArgument('notAfter must be after notBefore');
  const fraction = o.fraction ?? 2 / 3;
  const jitter = o.jitter ?? 0.1;
  if (!(fraction > 0 && fraction < 1)) throw badArgument('fraction must be in (0, 1)');
  if (!(jitter >= 0 && jitter < 1)) throw badArgument('jitter must be in [0, 1)');
  const r = o.random();
  if (!(r >= 0 && r < 1)) throw badArgument('random() must return a number in [0, 1)');
  const at = Math.floor(start + lifetime * (fraction + jitter * (2 * r - 1)));
  return new Date(Math.min(Math.max(at, start + 1), end - 1));
}
