// The replica's etcd client TLS material from files (`--etcd-ca/--etcd-cert/--etcd-key`,
// mounted from a Secret in a pod). The key must be readable by its owner only: a key
// readable by group or others is refused, not used.
import { readFileSync, statSync } from 'node:fs';
import { BrokerError } from '../errors.ts';
import type { EtcdTlsMaterial } from './etcd-transport.ts';

function read(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new BrokerError('PLX_BROKER_ETCD_CONFIG_INVALID', `${flag} ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
}

export function loadEtcdTlsFiles(f: { caFile: string; certFile: string; keyFile: string }): EtcdTlsMaterial {
  let mode: number;
  try {
    mode = statSync(f.keyFile).mode & 0o777;
  } catch (cause) {
    throw new BrokerError('PLX_BROKER_ETCD_CONFIG_INVALID', `--etcd-key ${f.keyFile}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  if ((mode & 0o077) !== 0) {
    throw new BrokerError('PLX_BROKER_ETCD_KEY_PERMISSIONS', `--etcd-key ${f.keyFile} has mode ${mode.toString(8).padStart(4, '0')}; it must be 0600 (owner only)`);
  }
  return { ca: read(f.caFile, '--etcd-ca'), cert: read(f.certFile, '--etcd-cert'), key: read(f.keyFile, '--etcd-key') };
}
