// Identity kept in <dataDir>/identity.json (mode 0600, directory 0700), replaced by
// write-to-temp + fsync + rename so a crash never leaves a torn file.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.ts';
import { checkStoredIdentity, type IdentityStore, type StoredIdentity } from './identity-store.ts';

export class FileIdentityStore implements IdentityStore {
  readonly location: string;
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.resolve(dataDir);
    this.location = path.join(this.dir, 'identity.json');
  }

  async load(): Promise<StoredIdentity | null> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new AgentError('PLX_AGENT_IDENTITY_STORE', `cannot read ${this.location}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return checkStoredIdentity(JSON.parse(text), this.location);
    } catch (err) {
      throw new AgentError('PLX_AGENT_IDENTITY_STORE', `cannot use ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Creates the directory (0700) and proves a file can be created in it. */
  async preflight(): Promise<void> {
    const probe = path.join(this.dir, `.preflight.${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
      await (await open(probe, 'wx', 0o600)).close();
    } catch (err) {
      throw new AgentError('PLX_AGENT_IDENTITY_STORE', `cannot write to ${this.dir}: ${(err as Error).message}`, { cause: err });
    } finally {
      await rm(probe, { force: true });
    }
  }

  async save(identity: StoredIdentity): Promise<void> {
    const tmp = path.join(this.dir, `.identity.json.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await chmod(this.dir, 0o700);
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(JSON.stringify(identity, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.location);
    } catch (err) {
      await rm(tmp, { force: true });
      throw new AgentError('PLX_AGENT_IDENTITY_STORE', `cannot write ${this.location}: ${(err as Error).message}`, { cause: err });
    }
  }
}
