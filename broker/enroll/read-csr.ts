// Every CSR the broker accepts (join, renew, a person's login and renewal, the metrics
// identity) goes through here, so a bad one is refused with the same stable code wherever
// it is sent: PLX_BROKER_CSR_SIGNATURE when its self-signature fails, else PLX_BROKER_BAD_CSR.
import { CertError } from '../../certs/errors.ts';
import { readCsr, type VerifiedCsr } from '../../certs/csr.ts';
import { BrokerError } from '../errors.ts';

/** Verifies the CSR's self-signature (proof that the caller holds the key). */
export async function readCsrOrRefuse(pem: string): Promise<VerifiedCsr> {
  try {
    return await readCsr(pem);
  } catch (e) {
    if (e instanceof CertError && e.code === 'PLX_CERTS_CSR_SIGNATURE') {
      throw new BrokerError('PLX_BROKER_CSR_SIGNATURE', 'the CSR signature does not verify', { cause: e });
    }
    if (e instanceof CertError) throw new BrokerError('PLX_BROKER_BAD_CSR', `unusable CSR: ${e.message}`, { cause: e });
    throw e;
  }
}
