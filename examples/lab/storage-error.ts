/**
 * File-system failures of the report folder (a read-only or unwritable --reports, a file
 * given as --reports, a full disk) as one line: what failed, where, and how to fix it. They
 * stop the whole run, not just one experiment: every experiment after it would fail the same
 * way. The report on disk stays the last one written whole (every write is atomic), so once
 * the cause is fixed `--resume` continues from there.
 */
import { statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';

/** Error codes of a file system that cannot take the report's files. */
const CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EEXIST: 'a file of that name is in the way',
  EISDIR: 'a folder of that name is in the way',
  EIO: 'an input/output error of the device',
};

/** A file-system failure of the report, its message the one line to print; `cause` is the original error. */
export class StorageError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

const errnoOf = (err: unknown) => (err instanceof Error ? (err as NodeJS.ErrnoException & { dest?: string }) : null);

/**
 * Whether `err` is the file system failing the report: a full disk anywhere, or a refused
 * write whose path lies in `reportsRoot` (an unreadable data file is the experiment's failure).
 */
export function isStorageFailure(err: unknown, reportsRoot: string): boolean {
  const e = errnoOf(err);
  if (!e?.code || !(e.code in CODES)) return false;
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 'EIO') return true;
  const root = resolve(reportsRoot);
  return [e.path, e.dest].some((p) => typeof p === 'string' && (resolve(p) === root || resolve(p).startsWith(root + sep)));
}

/**
 * The one line for a file-system failure of the report: what, where, and the fix. `resume`
 * is the command that continues the run, once there is a report folder to continue.
 */
export function storageMessage(err: unknown, where: { reportsRoot: string; dir?: string; resume?: string }): string {
  const e = errnoOf(err);
  const code = e?.code ?? '';
  // The file being replaced, not the temporary one of an atomic write (report.ts, nn's checkpoints).
  const path = typeof e?.path === 'string' ? e.path.replace(/\.tmp$/, '').replace(/([/\\])\.([^/\\]+)\.\d+\.\d+$/, '$1$2') : (where.dir ?? resolve(where.reportsRoot));
  const what = CODES[code] ?? (e?.message || String(err));
  const root = resolve(where.reportsRoot);
  const then = where.resume ? `, then continue the run with \`${where.resume}\`` : ', then start the lab again';
  if (!where.dir) {
    // Making the report folder failed: the --reports folder is the problem.
    if (code === 'ENOTDIR' || code === 'EEXIST') return `Cannot create the report folder in ${root}: ${fileOnTheWay(root)} is a file, not a folder (${code}). Name a folder with --reports DIR.`;
    if (code === 'ENOSPC' || code === 'EDQUOT') return `Cannot create the report folder in ${root}: ${what} (${code}). Free some space there or name another folder with --reports DIR.`;
    return `Cannot create the report folder in ${root}: ${what} (${code || 'error'} on ${path}). Name a writable folder with --reports DIR${code === 'EACCES' || code === 'EPERM' ? ', or make this one writable' : ''}.`;
  }
  // A failed write on an open file (nn's checkpoints) names no path: the report folder is what is known.
  const target = typeof e?.path === 'string' ? path : `into the report folder ${where.dir}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `Cannot write ${target}: ${what} (${code}). Free some space on the disk of ${where.dir}${then}.`;
  if (code === 'EROFS') return `Cannot write ${target}: ${what} (${code}). Make ${dirname(path)} writable again${then}.`;
  if (code === 'EACCES' || code === 'EPERM') return `Cannot write ${target}: ${what} (${code}). Give this user write access to ${where.dir}${then}.`;
  return `Cannot write ${target}: ${what} (${code || 'error'}). Fix the report folder ${where.dir}${then}.`;
}

/** The first part of `path` that exists, when it is a file: what stops a folder being made there. */
function fileOnTheWay(path: string): string {
  for (let p = path; dirname(p) !== p; p = dirname(p)) {
    try {
      return statSync(p).isDirectory() ? path : p;
    } catch {
      // ENOENT or ENOTDIR: look one level up
    }
  }
  return path;
}
