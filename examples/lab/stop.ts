/**
 * When the lab must stop early: Ctrl-C (SIGINT), `kill` (SIGTERM), a closed terminal (SIGHUP),
 * or the loss of the process that launched it.
 *
 * `npm run lab` runs node under `sh -c` under npm. npm passes SIGINT and SIGTERM to the shell
 * only, and the shell dies without passing them on; a SIGHUP sent to npm alone kills npm and
 * leaves both. Either way node would train on in the background, its output going nowhere.
 * So a lab launched by npm also watches its parent and grandparent, and stops (as on SIGHUP)
 * when either is gone.
 *
 * A SIGHUP that was ignored when the lab started (`nohup npm run lab`) stays ignored, and
 * then the launcher is not watched either: the user asked the run to outlive the terminal.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processAlive } from './process-alive';

export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP';

/** The exit status of a process ended by that signal, as a shell reports it. */
export const exitCodeOf = (reason: StopReason) => 128 + { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 }[reason];

/** Whether this process started with SIGHUP ignored (Linux tells; elsewhere assume not). */
function hangupIgnored(): boolean {
  try {
    const mask = /^SigIgn:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n; // bit 0: signal 1, SIGHUP
  } catch {
    return false;
  }
}

function parentOf(pid: number): number | null {
  try {
    if (process.platform === 'linux') return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
    if (process.platform === 'win32') return null;
    return Number(execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim()) || null;
  } catch {
    return null;
  }
}

/** How often the launcher is looked at: a lost launcher stops the run within this. */
const WATCH_MS = 500;

/**
 * Calls `stop` once on the first stop request; returns the function that stops listening.
 * `stop` must end the process.
 */
export function onStopRequest(stop: (reason: StopReason, why: string) => void): () => void {
  const signals: StopReason[] = hangupIgnored() ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let stopped = false;
  const once = (reason: StopReason, why: string) => {
    if (stopped) return;
    stopped = true;
    stop(reason, why);
  };
  const handlers = signals.map((s) => [s, () => once(s, s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  let timer: NodeJS.Timeout | undefined;
  // npm sets npm_lifecycle_event for the scripts it runs (npm run, npx).
  if (process.env.npm_lifecycle_event !== undefined && signals.includes('SIGHUP')) {
    const parent = process.ppid;
    const grandparent = parentOf(parent);
    const launcher = [parent, ...(grandparent && grandparent > 1 ? [grandparent] : [])];
    timer = setInterval(() => {
      const gone = process.ppid !== parent ? parent : launcher.find((p) => !processAlive(p));
      if (gone !== undefined) once('SIGHUP', `the process that launched it, PID ${gone}, exited`);
    }, WATCH_MS);
    timer.unref();
  }
  return () => {
    for (const [s, h] of handlers) process.removeListener(s, h);
    if (timer) clearInterval(timer);
  };
}
