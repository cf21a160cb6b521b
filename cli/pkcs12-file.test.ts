import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { p12Password, type PasswordSources } from './pkcs12-file.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'plexus-p12-pass-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const f = path.join(dir, `${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(f, text);
  return f;
}

const never = async (): Promise<string> => { throw new Error('must not prompt'); };
const sources = (o: Partial<PasswordSources>): PasswordSources => ({ env: {}, interactive: false, ask: never, ...o });
const codeOf = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string }) => e.code);

describe('p12Password', () => {
  it('takes the first line of --p12-password-file before the environment, without prompting', async () => {
    expect(await p12Password(sources({ passwordFile: file('s3cret\r\nignored\n'), env: { PLEXUS_P12_PASSWORD: 'env' }, interactive: true }))).toBe('s3cret');
  });

  it('takes PLEXUS_P12_PASSWORD when there is no file', async () => {
    expect(await p12Password(sources({ env: { PLEXUS_P12_PASSWORD: 'from env' }, interactive: true }))).toBe('from env');
  });

  it('asks twice on a terminal and refuses two different answers', async () => {
    const answers = (...a: string[]) => async () => a.shift()!;
    expect(await p12Password(sources({ interactive: true, ask: answers('typed', 'typed') }))).toBe('typed');
    expect(await codeOf(p12Password(sources({ interactive: true, ask: answers('typed', 'typo') })))).toBe('PLX_CLI_P12_PASSWORD_MISMATCH');
    expect(await codeOf(p12Password(sources({ interactive: true, ask: answers('', '') })))).toBe('PLX_CLI_P12_PASSWORD_REQUIRED');
  });

  it('refuses a non-interactive run with no password (an empty PLEXUS_P12_PASSWORD counts as none)', async () => {
    expect(await codeOf(p12Password(sources({ env: { PLEXUS_P12_PASSWORD: '' } })))).toBe('PLX_CLI_P12_PASSWORD_REQUIRED');
  });

  it('refuses an empty or unreadable password file, naming the file but not its content', async () => {
    expect(await codeOf(p12Password(sources({ passwordFile: file('\nsecond line') })))).toBe('PLX_CLI_P12_PASSWORD_FILE');
    const missing = path.join(dir, 'missing');
    await expect(p12Password(sources({ passwordFile: missing }))).rejects.toThrow(missing);
    expect(await codeOf(p12Password(sources({ passwordFile: missing })))).toBe('PLX_CLI_P12_PASSWORD_FILE');
  });
});
