// The CLI's error catalogue: the codes of the person-side commands (`plexus login`,
// `plexus kubeconfig`), of the PKCS#12 files, of the admin credentials and of `plexus health`, with meaning and remedy (docs/errors.md is
// generated from it). Commands that drive the broker or the agent report those packages'
// own codes (PLX_BROKER_*, PLX_AGENT_*), never a copy of them.

/** One entry of an error catalogue: what the code means and what the reader should do. */
export interface ErrorCodeEntry {
  readonly meaning: string;
  readonly remedy: string;
}

export const CLI_ERRORS = {
  PLX_USER_BAD_ARGUMENT: { meaning: 'A flag of `plexus login` or `plexus kubeconfig` is invalid (e.g. a broker URL that is not https).', remedy: 'Fix the flag the message names.' },
  PLX_USER_NOT_LOGGED_IN: { meaning: 'No personal identity is stored in the config directory.', remedy: 'Run `plexus login --broker URL --token T --ca-fingerprint FP` first.' },
  PLX_USER_CA_PIN_MISMATCH: { meaning: 'The broker does not present the root pinned with --ca-fingerprint; the token is not sent.', remedy: 'Take the fingerprint from the invitation (`plexus broker user invite`); a mismatch can mean another broker or an interception.' },
  PLX_USER_IDENTITY_MISMATCH: { meaning: 'The broker issued something other than a user identity of the expected clusterset.', remedy: 'Check the broker URL; report it if it is right.' },
  PLX_USER_BROKER_UNREACHABLE: { meaning: 'The broker did not answer (connection, DNS, TLS or timeout).', remedy: 'Check the broker URL and that the broker runs.' },
  PLX_USER_BROKER_PROTOCOL: { meaning: 'The broker\'s answer did not match the wire contract.', remedy: 'Use a CLI of the broker\'s Plexus version.' },
  PLX_USER_CONFIG_DIR: { meaning: 'The personal config directory (identity, profile) cannot be written.', remedy: 'Check the permissions of the directory the message names (or PLEXUS_CONFIG_DIR).' },
  PLX_USER_KUBECONFIG: { meaning: 'The kubeconfig to update cannot be read, parsed or written.', remedy: 'Fix or move the kubeconfig the message names, or write another with --output.' },
  PLX_CLI_P12_PASSWORD_REQUIRED: { meaning: 'A PKCS#12 file (`--p12`, `plexus export-p12`, `plexus broker admin-p12`) needs a password and none was given: no --p12-password-file, no PLEXUS_P12_PASSWORD and no terminal to ask on (or an empty answer).', remedy: 'Pass --p12-password-file FILE or set PLEXUS_P12_PASSWORD; nothing was sent to the broker, so a one-time token is still unused.' },
  PLX_CLI_P12_PASSWORD_FILE: { meaning: 'The --p12-password-file cannot be read or its first line is empty.', remedy: 'Point --p12-password-file at a readable file whose first line is the password.' },
  PLX_CLI_P12_PASSWORD_MISMATCH: { meaning: 'The PKCS#12 password typed twice on the terminal differs.', remedy: 'Run the command again and type the same password twice.' },
  PLX_CLI_P12_WRITE: { meaning: 'The PKCS#12 file cannot be written where --p12/--out says.', remedy: 'Check that the directory exists and is writable; the file is written 0600 and replaced atomically.' },
  PLX_CLI_P12_UNREADABLE: { meaning: 'The PKCS#12 file (`--admin-p12`, env PLEXUS_ADMIN_P12) cannot be read, is not a PKCS#12, holds no single key with its certificate, or holds no CA certificate to verify the broker with.', remedy: 'Pass the file `plexus broker admin-p12 --out FILE` wrote, unchanged.' },
  PLX_CLI_P12_BAD_PASSWORD: { meaning: 'The PKCS#12 password (--p12-password-file, PLEXUS_P12_PASSWORD or the terminal) does not open the file: its integrity check fails.', remedy: 'Give the password the file was exported with; nothing was sent to the broker.' },
  PLX_CLI_ADMIN_NOT_ADMIN: { meaning: 'The PKCS#12 given to an admin command holds another identity than spiffe://<clusterset>/admin/admin (a person\'s, a cluster\'s, the metrics reader\'s); the broker would refuse it too.', remedy: 'Use the admin identity: `plexus broker admin-p12 --out FILE` where the data dir is, then `--admin-p12 FILE`.' },
  PLX_CLI_ADMIN_NO_BROKER: { meaning: 'An admin command knows no broker URL: no --broker, no env PLEXUS_BROKER, and no data dir with a broker.json.', remedy: 'Pass --broker https://HOST:PORT or set PLEXUS_BROKER.' },
  PLX_CLI_ADMIN_NO_IDENTITY: { meaning: 'An admin command has no admin identity: no --admin-p12, no env PLEXUS_ADMIN_P12, and no --data-dir (or PLEXUS_BROKER_DATA_DIR).', remedy: 'Pass --admin-p12 FILE (or set PLEXUS_ADMIN_P12), or run it where the broker\'s data dir is with --data-dir.' },
  PLX_HEALTH_UNHEALTHY: { meaning: '`plexus health`: no endpoint answered 200; the message names each failure.', remedy: 'Check that the broker or agent in the container runs and listens where --url (or PLEXUS_HEALTH_URL) says.' },
  PLX_HEALTH_BAD_ARGUMENT: { meaning: '`plexus health`: a URL or --timeout-ms is invalid.', remedy: 'Pass http:// or https:// URLs and a positive integer timeout.' },
} as const satisfies Record<string, ErrorCodeEntry>;

export type CliErrorCode = keyof typeof CLI_ERRORS;
