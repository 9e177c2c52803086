/**
 * One run per report folder: a run holds `<report>/run.lock` (its PID, host and start time)
 * for as long as it writes there. A second run on the same report (a second --resume, or a
 * --resume of a report still being written) is refused, naming the holder. A lock left by a
 * killed run is stale when its host is this one and its PID is gone; it is then taken over.
 *
 * The lock is created complete and exclusively (a private file hard-linked to the lock's
 * name: link fails when the name exists), so no reader ever sees half of one. A stale lock is
 * taken over by renaming it to a private name first (rename succeeds for one process only)
 * and checking that the renamed file is the stale lock that was judged, not a fresh one.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from './process-alive';

export const LOCK_FILE = 'run.lock';

interface LockContent {
  pid: number;
  host: string;
  startedAt: string;
  /** Tells two locks of the same PID apart (a PID is reused across reboots). */
  nonce: string;
}

/** Another live run holds the report. */
export class ReportLocked extends Error {}

export interface ReportLock {
  path: string;
  /** Removes the lock if it is still this run's; safe to call more than once. */
  release(): void;
}

function readLock(path: string): LockContent | null {
  try {
    const c = JSON.parse(readFileSync(path, 'utf8')) as LockContent;
    return Number.isInteger(c.pid) && typeof c.host === 'string' ? c : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    // Unreadable or not JSON: a lock all the same, whose holder cannot be checked.
    return { pid: -1, host: '?', startedAt: '?', nonce: '' };
  }
}

/** Whether a lock was left by a process of this host that no longer exists. */
const stale = (c: LockContent) => c.host === hostname() && c.pid > 0 && c.pid !== process.pid && !processAlive(c.pid);

/** Takes the report's lock, or throws ReportLocked naming the run that holds it; `what` starts the message. */
export function lockReport(dir: string, what: string): ReportLock {
  const path = join(dir, LOCK_FILE);
  const mine: LockContent = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
  const text = JSON.stringify(mine);
  const candidate = join(dir, `.${LOCK_FILE}.${process.pid}.${mine.nonce}`);
  try {
    writeFileSync(candidate, text);
  } catch (err) {
    // A read-only or full report folder: say so of the lock, not of this private name.
    throw Object.assign(err as Error, { path });
  }
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(candidate, path);
        return { path, release: () => releaseLock(path, text) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = readLock(path);
      if (!held) continue; // released meanwhile: try again
      if (!stale(held)) {
        const who = held.pid > 0 ? `process ${held.pid} on ${held.host === hostname() ? 'this machine' : `host ${held.host}`}, since ${held.startedAt}` : 'a run whose lock cannot be read';
        throw new ReportLocked(
          `${what}: the report ${dir} is in use by ${who}. Wait for that run to end (or stop it with Ctrl-C); if no run is using it, delete ${path} and try again.`,
        );
      }
      takeOverStale(path, held);
    }
    throw new ReportLocked(`${what}: could not take the lock ${path}: other runs keep taking it. Try again.`);
  } finally {
    rmSync(candidate, { force: true });
  }
}

function takeOverStale(path: string, judged: LockContent): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // another process took it over first
    throw err;
  }
  const moved = readLock(aside);
  if (moved && moved.pid === judged.pid && moved.nonce === judged.nonce) {
    rmSync(aside, { force: true });
    return;
  }
  // A live lock taken over in between by another process: put it back.
  try {
    linkSync(aside, path);
  } finally {
    rmSync(aside, { force: true });
  }
}

function releaseLock(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path, { force: true });
  } catch {
    // Gone already, or the folder is unreachable now: nothing of ours to remove.
  }
}
