// Synchronous cleanups run on the process's 'exit' event (process.exit(), an uncaught
// error, the event loop draining). Process-wide by nature, hence the one module-level set.
// Deaths that skip 'exit' (SIGKILL, a default-action signal) are handled by watchdog.sh.
const cleanups = new Set<() => void>();
let installed = false;

function runAll(): void {
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // keep going: every registered set must get its chance to clean up
    }
  }
  cleanups.clear();
}

/** Registers `fn` to run synchronously at process exit; returns the unregister function. */
export function onProcessExit(fn: () => void): () => void {
  if (!installed) {
    process.on('exit', runAll);
    installed = true;
  }
  cleanups.add(fn);
  return () => { cleanups.delete(fn); };
}
