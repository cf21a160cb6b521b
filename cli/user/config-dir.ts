// The person's identity on disk: DIR (default ~/.plexus, 0700) holds user.key (0600),
// user.crt, ca.crt (the trust bundle) and user.json (broker URL, names, expiry).
// Kubeconfigs reference the files by path, so a renewal applies without regenerating them.
// Every file is replaced by write-to-temp + rename: readers see old or new, never half.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeFileAtomic as writeAtomic } from '../atomic-file.ts';
import os from 'node:os';
import path from 'node:path';
import { UserCliError } from './user-error.ts';

export interface UserProfile {
  broker: string;
  clusterset: string;
  name: string;
  groups: string[];
  identity: string;
  notAfter: string;
  caFingerprint: string;
}

export interface ConfigDirLayout {
  readonly dir: string;
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  readonly profile: string;
}

export function defaultConfigDir(): string {
  return process.env.PLEXUS_CONFIG_DIR ?? path.join(os.homedir(), '.plexus');
}

export function configDirLayout(dir: string): ConfigDirLayout {
  const d = path.resolve(dir);
  return { dir: d, key: path.join(d, 'user.key'), cert: path.join(d, 'user.crt'), ca: path.join(d, 'ca.crt'), profile: path.join(d, 'user.json') };
}

/** Writes `content` to `file` atomically with `mode` (../atomic-file.ts); PLX_USER_CONFIG_DIR when it cannot. */
export function writeFileAtomic(file: string, content: string, mode: number): void {
  try {
    writeAtomic(file, content, mode);
  } catch (e) {
    throw new UserCliError('PLX_USER_CONFIG_DIR', `cannot write ${file}: ${(e as Error).message}`, { cause: e });
  }
}

function ensureConfigDir(l: ConfigDirLayout): void {
  try {
    mkdirSync(l.dir, { recursive: true, mode: 0o700 });
    chmodSync(l.dir, 0o700);
  } catch (e) {
    throw new UserCliError('PLX_USER_CONFIG_DIR', `cannot create ${l.dir}: ${(e as Error).message}`, { cause: e });
  }
}

export interface StoredUserIdentity {
  readonly profile: UserProfile;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

/** Key first, then certificate, then bundle and profile: a reader never pairs a new cert with a missing key. */
export function saveIdentity(l: ConfigDirLayout, id: StoredUserIdentity): void {
  ensureConfigDir(l);
  writeFileAtomic(l.key, id.keyPem, 0o600);
  writeFileAtomic(l.cert, id.certPem, 0o644);
  writeFileAtomic(l.ca, id.caPem, 0o644);
  writeFileAtomic(l.profile, JSON.stringify(id.profile, null, 2) + '\n', 0o644);
}

export function loadIdentity(l: ConfigDirLayout): StoredUserIdentity {
  if (!existsSync(l.profile)) throw new UserCliError('PLX_USER_NOT_LOGGED_IN', `no identity in ${l.dir}; run \`plexus login --broker URL --token T --ca-fingerprint FP\` first`);
  try {
    return {
      profile: JSON.parse(readFileSync(l.profile, 'utf8')) as UserProfile,
      keyPem: readFileSync(l.key, 'utf8'),
      certPem: readFileSync(l.cert, 'utf8'),
      caPem: readFileSync(l.ca, 'utf8'),
    };
  } catch (e) {
    throw new UserCliError('PLX_USER_CONFIG_DIR', `cannot read the identity in ${l.dir}: ${(e as Error).message}`, { cause: e });
  }
}
