/**
 * File-system faults for the lab's child-process tests, set by environment variables before
 * anything is written. node:fs is patched in place and syncBuiltinESMExports() carries the
 * patch into every module's named imports, so the lab's own code meets the fault.
 *
 * WEBGRAD_FAIL_FS=op:CODE:text:n   the (n+1)th and later calls of fs.<op> (a sync function:
 *                                  mkdirSync, writeFileSync...) whose path contains `text`
 *                                  throw an errno error CODE naming that path, as the kernel's would.
 * WEBGRAD_KILL_ON_COMPLETE=1       SIGKILL right after a metrics.json saying complete: true is
 *                                  renamed into place (the last moment of a finishing run).
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const fail = process.env.WEBGRAD_FAIL_FS;
if (fail) {
  const [op, code, text, after] = fail.split(':');
  const original = (fs as unknown as Record<string, (...a: unknown[]) => unknown>)[op];
  if (typeof original !== 'function') throw new Error(`WEBGRAD_FAIL_FS: fs.${op} is not a function`);
  let passed = 0;
  (fs as unknown as Record<string, unknown>)[op] = (...args: unknown[]) => {
    const path = String(args[0]);
    if (path.includes(text) && passed++ >= Number(after)) {
      const err = new Error(`${code}: injected failure, ${op.replace(/Sync$/, '')} '${path}'`) as NodeJS.ErrnoException;
      Object.assign(err, { code, syscall: op.replace(/Sync$/, ''), path });
      throw err;
    }
    return original(...args);
  };
}

if (process.env.WEBGRAD_KILL_ON_COMPLETE) {
  const rename = fs.renameSync;
  fs.renameSync = (from, to) => {
    rename(from, to);
    if (String(to).endsWith('metrics.json') && JSON.parse(fs.readFileSync(to, 'utf8')).complete === true) process.kill(process.pid, 'SIGKILL');
  };
}

syncBuiltinESMExports();
