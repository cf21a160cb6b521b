// Where an admin command (`plexus broker token|cluster|rbac|user|ca|metrics|status`,
// `plexus status|services`) finds the broker and the admin identity. Each has three
// sources, first match wins — flags > env > data dir:
//
//   broker URL      --broker URL       env PLEXUS_BROKER      DATA_DIR/broker.json (the running broker)
//   admin identity  --admin-p12 FILE   env PLEXUS_ADMIN_P12   DATA_DIR/admin/{admin.crt,admin.key,ca.crt}
//
// so a script on any machine needs only PLEXUS_BROKER, PLEXUS_ADMIN_P12 and
// PLEXUS_P12_PASSWORD (or --p12-password-file), and on the broker's own disk nothing changes.
// The .p12 is what `plexus broker admin-p12` writes: the admin key and certificate and the
// clusterset roots. The broker is verified against exactly those roots (TLS 1.3), as
// against DATA_DIR/admin/ca.crt today. A .p12 that holds another identity than
// spiffe://<clusterset>/admin/admin is refused here, before anything is sent; the broker
// refuses it as well (broker/http/route-access.ts).
import { X509Certificate } from 'node:crypto';
import { Option, type Command } from 'commander';
import type { AdminClientOptions } from '../../broker/admin-client.ts';
import { ADMIN_NAME } from '../../broker/admin-identity.ts';
import { dataDirLayout, readDataFile, readRuntimeInfo } from '../../broker/data-dir.ts';
import { BrokerError } from '../../broker/errors.ts';
import { parseIdentity } from '../../certs/identity.ts';
import type { CliErrorCode } from '../errors.ts';
import { DATA_DIR_ENV } from '../options.ts';
import { p12Password, p12PasswordFileOption, Pkcs12FileError, processPasswordSources, readPkcs12File } from '../pkcs12-file.ts';

export const BROKER_URL_ENV = 'PLEXUS_BROKER';
export const ADMIN_P12_ENV = 'PLEXUS_ADMIN_P12';

/** The flags of every admin command, after commander merged in the env (`Option.env`). */
export interface AdminAccessFlags {
  readonly dataDir?: string;
  readonly broker?: string;
  readonly adminP12?: string;
  readonly p12PasswordFile?: string;
}

export class AdminCredentialError extends Error {
  readonly code: Extract<CliErrorCode, `PLX_CLI_ADMIN_${string}`>;

  constructor(code: AdminCredentialError['code'], message: string) {
    super(message);
    this.name = 'AdminCredentialError';
    this.code = code;
  }
}

export const ADMIN_ACCESS_HELP = 'Credentials (first match wins: flags > env > data dir):\n'
  + `  broker URL      --broker URL, else env ${BROKER_URL_ENV}, else DATA_DIR/broker.json\n`
  + `  admin identity  --admin-p12 FILE, else env ${ADMIN_P12_ENV}, else DATA_DIR/admin/\n`
  + '  .p12 password   --p12-password-file FILE, else env PLEXUS_P12_PASSWORD, else asked on the terminal\n'
  + 'From another machine: `plexus broker admin-p12 --out admin.p12` where the data dir is, then\n'
  + `  ${BROKER_URL_ENV}=https://broker:7443 ${ADMIN_P12_ENV}=admin.p12 PLEXUS_P12_PASSWORD=… plexus broker token list`;

/** --data-dir (optional here), --broker, --admin-p12 and --p12-password-file. */
export function addAdminAccessOptions(cmd: Command): Command {
  const dataDir = new Option('--data-dir <dir>', `broker data directory, on the broker's disk (env ${DATA_DIR_ENV})`);
  const fromEnv = process.env[DATA_DIR_ENV];
  return cmd
    .addOption(fromEnv ? dataDir.default(fromEnv) : dataDir)
    .addOption(new Option('--broker <url>', 'broker URL (else DATA_DIR/broker.json)').env(BROKER_URL_ENV))
    .addOption(new Option('--admin-p12 <file>', 'admin identity as a PKCS#12 from `plexus broker admin-p12` (else DATA_DIR/admin/)').env(ADMIN_P12_ENV))
    .addOption(p12PasswordFileOption());
}

/** The identity a certificate names; undefined when it names none or a malformed one. */
function identityUri(certPem: string): string | undefined {
  try {
    return new X509Certificate(certPem).subjectAltName?.match(/URI:([^,\s]+)/)?.[1];
  } catch {
    return undefined;
  }
}

/** Exactly spiffe://<clusterset>/admin/admin: not a person, a cluster, or the metrics reader. */
export function checkAdminCertificate(certPem: string, file: string): void {
  const uri = identityUri(certPem);
  let isAdmin = false;
  try {
    const id = uri === undefined ? undefined : parseIdentity(uri);
    isAdmin = id?.kind === 'admin' && id.name === ADMIN_NAME;
  } catch {
    isAdmin = false;
  }
  if (!isAdmin) {
    throw new AdminCredentialError('PLX_CLI_ADMIN_NOT_ADMIN',
      `${file} holds ${uri ? `the identity ${uri}` : 'no Plexus identity'}, not the admin identity spiffe://<clusterset>/admin/${ADMIN_NAME}`);
  }
}

export interface CredentialSources {
  /** The password of the .p12 (injected so unit tests need no terminal). */
  readonly password: (passwordFile: string | undefined) => Promise<string>;
}

const processSources: CredentialSources = {
  password: (file) => p12Password(processPasswordSources(file), { confirm: false }),
};

const given = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

/** What AdminClient needs; `p12` when the identity came from a .p12 (admin-p12-refresh.ts rewrites it). */
export interface AdminCredentials extends AdminClientOptions {
  readonly p12?: { readonly file: string; readonly password: string };
}

/** The broker URL and admin identity for AdminClient, from the sources above in their order. */
export async function resolveAdminCredentials(flags: AdminAccessFlags, src: CredentialSources = processSources): Promise<AdminCredentials> {
  const p12 = given(flags.adminP12);
  const dataDir = given(flags.dataDir);
  if (p12 === undefined && dataDir === undefined) {
    throw new AdminCredentialError('PLX_CLI_ADMIN_NO_IDENTITY', `no admin identity: pass --admin-p12 FILE (or set ${ADMIN_P12_ENV}), or --data-dir on the broker's disk`);
  }
  const layout = dataDir === undefined ? undefined : dataDirLayout(dataDir);
  const baseUrl = given(flags.broker) ?? (layout ? readRuntimeInfo(layout)?.url : undefined);
  if (baseUrl === undefined) {
    if (layout) throw new BrokerError('PLX_BROKER_UNREACHABLE', `no running broker recorded in ${layout.brokerJson}; start one with "plexus broker start" or pass --broker URL`);
    throw new AdminCredentialError('PLX_CLI_ADMIN_NO_BROKER', `no broker URL: pass --broker https://HOST:PORT or set ${BROKER_URL_ENV}`);
  }
  if (p12 === undefined) {
    return {
      baseUrl,
      certPem: readDataFile(layout!.adminCert, 'admin certificate'),
      keyPem: readDataFile(layout!.adminKey, 'admin key'),
      caPem: readDataFile(layout!.adminCa, 'admin trust bundle'),
    };
  }
  const password = await src.password(flags.p12PasswordFile);
  const id = await readPkcs12File(p12, password);
  checkAdminCertificate(id.certPem, p12);
  if (id.caPem === '') throw new Pkcs12FileError('PLX_CLI_P12_UNREADABLE', `${p12} holds no clusterset root to verify the broker with; export it with \`plexus broker admin-p12\``);
  return { baseUrl, certPem: id.certPem, keyPem: id.keyPem, caPem: id.caPem, p12: { file: p12, password } };
}
