// Writes a file whole or not at all: into a temporary file beside it (created exclusively,
// with its final mode), then renamed over the target. A crash leaves the old file or the new
// one, never half of either. Callers turn a failure into their own stable code.
import { randomBytes } from 'node:crypto';
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes `content` to `file` atomically with `mode`; throws the file system's error. */
export function writeFileAtomic(file: string, content: string | Uint8Array, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, content, { mode, flag: 'wx' });
    chmodSync(tmp, mode); // the umask may have narrowed it
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
