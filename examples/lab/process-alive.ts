import { readFileSync } from 'node:fs';

/**
 * Whether a process exists and has not exited. A process that exited but was not yet reaped
 * by its parent (a zombie: its parent died before it, and PID 1 in a container may never reap)
 * still answers kill(pid, 0), so on Linux its state is read too.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
  } catch {
    return false; // gone between the two looks
  }
}
