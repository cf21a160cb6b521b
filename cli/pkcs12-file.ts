// A PKCS#12 file for a browser (`plexus login --p12`, `plexus export-p12`,
// `plexus broker admin-p12`): where its password comes from, and writing it 0600; and
// reading one back (`--admin-p12` of the admin commands).
//
// The password is read from --p12-password-file, else env PLEXUS_P12_PASSWORD, else asked
// twice on the terminal without echo. A run with none of them and no terminal (a script,
// CI) is refused before anything else happens — in `login` before the one-time token is
// spent. The password is never printed, logged or put in an error message.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import { Option } from 'commander';
import { writeFileAtomic } from './atomic-file.ts';
import type { Pkcs12Options } from '../certs/pkcs12.ts';
import type { DecodedPkcs12 } from '../certs/pkcs12-decode.ts';
import type { CliErrorCode } from './errors.ts';

export const P12_PASSWORD_ENV = 'PLEXUS_P12_PASSWORD';

export type Pkcs12FileErrorCode = Extract<CliErrorCode, `PLX_CLI_P12_${string}`>;


export class Pkcs12FileError extends Error {
  readonly code: Pkcs12FileErrorCode;

  constructor(code: Pkcs12FileErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Pkcs12FileError';
    this.code = code;
  }
}

export const p12PasswordFileOption = (): Option =>
  new Option('--p12-password-file <file>', `file whose first line is the PKCS#12 password (else env ${P12_PASSWORD_ENV}, else asked on the terminal)`);

export interface PasswordSources {
  readonly passwordFile?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Whether a person can answer a prompt (stdin is a terminal). */
  readonly interactive: boolean;
  /** Asks without echo; injected so tests need no terminal. */
  readonly ask: (question: string) => Promise<string>;
}

/**
 * The PKCS#12 password from the first source that has one; PLX_CLI_P12_* otherwise. A
 * password for a new file is asked twice on the terminal; one to open a file (`confirm:
 * false`) once, since a typo is caught by the file's integrity check.
 */
export async function p12Password(s: PasswordSources, o: { confirm?: boolean } = {}): Promise<string> {
  if (s.passwordFile !== undefined) {
    let text;
    try {
      text = readFileSync(s.passwordFile, 'utf8');
    } catch (e) {
      throw new Pkcs12FileError('PLX_CLI_P12_PASSWORD_FILE', `cannot read the PKCS#12 password file ${s.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    // The first line, so `echo secret > file` works; a password cannot hold a line break.
    const password = text.split(/\r?\n/, 1)[0]!;
    if (password === '') throw new Pkcs12FileError('PLX_CLI_P12_PASSWORD_FILE', `the PKCS#12 password file ${s.passwordFile} is empty`);
    return password;
  }
  const fromEnv = s.env[P12_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!s.interactive) {
    throw new Pkcs12FileError('PLX_CLI_P12_PASSWORD_REQUIRED', `a PKCS#12 needs a password and this run has no terminal to ask on: pass --p12-password-file FILE or set ${P12_PASSWORD_ENV}`);
  }
  const first = await s.ask('PKCS#12 password: ');
  if (first === '') throw new Pkcs12FileError('PLX_CLI_P12_PASSWORD_REQUIRED', 'the PKCS#12 password must not be empty');
  if (o.confirm !== false && await s.ask('Again: ') !== first) throw new Pkcs12FileError('PLX_CLI_P12_PASSWORD_MISMATCH', 'the two PKCS#12 passwords differ');
  return first;
}

/** Reads one line from the terminal, echoing nothing but the question (on stderr). */
export async function askHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = rl.question(question);
    muted = true;
    return await answer;
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** The password sources of this process. */
export function processPasswordSources(passwordFile: string | undefined): PasswordSources {
  return { passwordFile, env: process.env, interactive: process.stdin.isTTY === true, ask: askHidden };
}

/** Encodes and writes FILE atomically with mode 0600 (it holds the key, encrypted). */
export async function writePkcs12File(file: string, o: Pkcs12Options): Promise<string> {
  const target = path.resolve(file);
  // node-forge is loaded only by the commands that write a PKCS#12 (role-libraries.test.ts).
  const { encodePkcs12 } = await import('../certs/pkcs12.ts');
  const bytes = encodePkcs12(o);
  try {
    writeFileAtomic(target, bytes, 0o600);
  } catch (e) {
    throw new Pkcs12FileError('PLX_CLI_P12_WRITE', `cannot write ${target}: ${(e as Error).message}`, { cause: e });
  }
  return target;
}

/**
 * Reads and opens a PKCS#12 (e.g. from `plexus broker admin-p12`): its key, its
 * certificate and every other certificate it carries. PLX_CLI_P12_UNREADABLE or
 * PLX_CLI_P12_BAD_PASSWORD; the password is never part of a message.
 */
export async function readPkcs12File(file: string, password: string): Promise<DecodedPkcs12> {
  let bytes;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new Pkcs12FileError('PLX_CLI_P12_UNREADABLE', `cannot read the PKCS#12 file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  // node-forge is loaded only by the commands that read or write a PKCS#12 (role-libraries.test.ts).
  const { decodePkcs12 } = await import('../certs/pkcs12-decode.ts');
  try {
    return decodePkcs12(bytes, password);
  } catch (e) {
    const code = (e as { code?: unknown }).code === 'PLX_CERTS_PKCS12_PASSWORD' ? 'PLX_CLI_P12_BAD_PASSWORD' : 'PLX_CLI_P12_UNREADABLE';
    throw new Pkcs12FileError(code, `${file}: ${(e as Error).message}`, { cause: e });
  }
}
