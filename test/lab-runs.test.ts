/**
 * The lab's runner against a hostile world, through the tiny lab (test/helpers/tiny-lab.ts,
 * the real runner in a child process): one run per report folder (a lock on --resume), stop
 * signals reaching the run whichever process of `npm exec` gets them, file-system failures
 * as one line, and --resume refusing report entries that point out of the report folder.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabReport } from '../examples/lab/types';
import { processAlive as alive } from '../examples/lab/process-alive';

const root = resolve(__dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'webgrad-runs-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TINY = ['--import', 'tsx', 'test/helpers/tiny-lab.ts', '--device', 'cpu', '--progress', 'none'];
const labEnv = (extra: Record<string, string> = {}) => ({ ...process.env, WEBGRAD_KILL_AT: '', WEBGRAD_PAUSE_AT: '', WEBGRAD_FAIL_FS: '', WEBGRAD_KILL_ON_COMPLETE: '', ...extra });

function tinyLab(reports: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...TINY, '--reports', reports, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000, env: labEnv(env) });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}` };
}

/** A lab started in the background that waits at `pause` (run:epoch:batch) until signalled. */
async function pausedLab(cmd: string, args: string[], pause: string): Promise<{ child: ChildProcess; pid: number; output: () => string; closed: Promise<number | null> }> {
  const child = spawn(cmd, args, { cwd: root, env: labEnv({ WEBGRAD_PAUSE_AT: pause }), stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (d) => (text += d));
  child.stderr?.on('data', (d) => (text += d));
  // 'close': every holder of the pipes has exited, node included when npm is gone first.
  const closed = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  for (let i = 0; i < 400 && !/paused pid=\d+/.test(text); i++) await new Promise((r) => setTimeout(r, 100));
  const pid = Number(/paused pid=(\d+)/.exec(text)?.[1]);
  if (!pid) throw new Error(`the lab did not reach its pause point:\n${text}`);
  return { child, pid, output: () => text, closed };
}


function reportIn(reports: string): { dir: string; report: LabReport } {
  const dirs = readdirSync(reports);
  expect(dirs).toHaveLength(1);
  const dir = join(reports, dirs[0]);
  return { dir, report: JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as LabReport };
}

/** An error meant for the user: exactly one line, no stack frame. */
function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0];
}

/** The metrics of an uninterrupted tiny lab: every resumed run below must end with exactly these. */
let reference: unknown;
let finishedReport: string;

describe('one run per report folder', () => {
  it('a kill right after the final save leaves a complete report without checkpoints/', () => {
    const reports = join(tmp, 'kill-on-complete');
    const r = tinyLab(reports, [], { WEBGRAD_KILL_ON_COMPLETE: '1' });
    expect(r.signal, r.out).toBe('SIGKILL');
    const { dir, report } = reportIn(reports);
    reference = report.experiments[0].metrics;
    finishedReport = dir;
    expect(report.complete).toBe(true);
    expect(existsSync(join(dir, 'checkpoints'))).toBe(false);
  });

  it('a --resume of a report in use is refused and changes nothing; once its run is killed, --resume takes over the stale lock', { timeout: 90_000 }, async () => {
    const reports = join(tmp, 'locked');
    const first = await pausedLab(process.execPath, [...TINY, '--reports', reports], 'a:1:2');
    try {
      const { dir } = reportIn(reports);
      const before = readFileSync(join(dir, 'metrics.json'), 'utf8');
      const second = tinyLab(reports, ['--resume']);
      expect(second.status, second.out).toBe(1);
      expect(oneLine(second.stderr)).toBe(
        `--resume: the report ${dir} is in use by process ${first.pid} on this machine, since ${JSON.parse(readFileSync(join(dir, 'run.lock'), 'utf8')).startedAt}. ` +
          `Wait for that run to end (or stop it with Ctrl-C); if no run is using it, delete ${join(dir, 'run.lock')} and try again.`,
      );
      expect(readFileSync(join(dir, 'metrics.json'), 'utf8')).toBe(before);
      expect(existsSync(join(dir, 'checkpoints', '90-tiny', 'a.safetensors'))).toBe(true);
      first.child.kill('SIGKILL');
      await first.closed;
      // The lock of the killed run is still there: stale (its process is gone) and taken over.
      expect(existsSync(join(dir, 'run.lock'))).toBe(true);
      const resumed = tinyLab(reports, ['--resume']);
      expect(resumed.status, resumed.out).toBe(0);
      const after = reportIn(reports);
      expect(after.report.complete).toBe(true);
      expect(after.report.experiments[0].metrics).toEqual(reference);
      expect(readdirSync(after.dir).filter((f) => f.includes('lock'))).toEqual([]);
    } finally {
      first.child.kill('SIGKILL');
    }
  });
});

describe('stop signals reach the run, whichever process of `npm exec` gets them', () => {
  const cases: [target: 'npm' | 'node', signal: NodeJS.Signals][] = [
    ['npm', 'SIGTERM'],
    ['npm', 'SIGHUP'],
    ['node', 'SIGTERM'],
    ['node', 'SIGHUP'],
  ];
  for (const [target, signal] of cases) {
    it(`${signal} to ${target}: the lab saves, prints the resume command and exits`, { timeout: 60_000 }, async () => {
      const reports = join(tmp, `signal-${target}-${signal}`);
      // npm exec runs the command as `sh -c` under npm, as `npm run lab` does.
      const lab = await pausedLab('npm', ['exec', '--yes=false', '--', process.execPath, ...TINY, '--reports', reports], 'a:1:2');
      try {
        process.kill(target === 'npm' ? (lab.child.pid as number) : lab.pid, signal);
        await lab.closed;
        expect(alive(lab.pid), lab.output()).toBe(false);
        const { dir, report } = reportIn(reports);
        expect(lab.output()).toMatch(new RegExp(`\\nInterrupted \\([^\\n]+\\): finished experiments are in ${dir}; continue with \`tiny-lab --resume [^\`]+\``));
        expect(report.complete).toBe(false);
        expect(existsSync(join(dir, 'run.lock'))).toBe(false);
      } finally {
        lab.child.kill('SIGKILL');
        if (alive(lab.pid)) process.kill(lab.pid, 'SIGKILL');
      }
    });
  }
});

describe('file-system failures: one line naming the file and the fix, exit code 1', () => {
  it('an unwritable --reports (EACCES)', () => {
    const reports = join(tmp, 'unwritable');
    const r = tinyLab(reports, [], { WEBGRAD_FAIL_FS: `mkdirSync:EACCES:${reports}:0` });
    expect(r.status, r.out).toBe(1);
    expect(oneLine(r.stderr)).toBe(`Cannot create the report folder in ${reports}: permission denied (EACCES on ${reports}). Name a writable folder with --reports DIR, or make this one writable.`);
  });

  it('a read-only --reports (EROFS), with the stack under --verbose', () => {
    const reports = join(tmp, 'read-only');
    const r = tinyLab(reports, ['--verbose'], { WEBGRAD_FAIL_FS: `mkdirSync:EROFS:${reports}:0` });
    expect(r.status, r.out).toBe(1);
    const [line, ...stack] = r.stderr.trim().split('\n');
    expect(line).toBe(`Cannot create the report folder in ${reports}: the file system is read-only (EROFS on ${reports}). Name a writable folder with --reports DIR.`);
    expect(stack.join('\n')).toMatch(/^\s+at /m);
  });

  it('a file as --reports (EEXIST), or inside it (ENOTDIR)', () => {
    const file = join(tmp, 'passwd');
    writeFileSync(file, 'root:x:0:0\n');
    const r = tinyLab(file, []);
    expect(r.status, r.out).toBe(1);
    expect(oneLine(r.stderr)).toBe(`Cannot create the report folder in ${file}: ${file} is a file, not a folder (EEXIST). Name a folder with --reports DIR.`);
    const below = tinyLab(join(file, 'reports'), []);
    expect(below.status, below.out).toBe(1);
    expect(oneLine(below.stderr)).toBe(`Cannot create the report folder in ${join(file, 'reports')}: ${file} is a file, not a folder (ENOTDIR). Name a folder with --reports DIR.`);
  });

  it('a full disk (ENOSPC) mid-run keeps the report valid, and --resume continues once there is space', () => {
    const reports = join(tmp, 'full');
    // The fourth report write fails: after the first save and an epoch of run a.
    const r = tinyLab(reports, [], { WEBGRAD_FAIL_FS: 'writeFileSync:ENOSPC:metrics.json:3' });
    expect(r.status, r.out).toBe(1);
    const { dir, report } = reportIn(reports);
    expect(oneLine(r.stderr)).toMatch(
      new RegExp(`^Cannot write ${join(dir, 'metrics.json')}: no space left on the device \\(ENOSPC\\)\\. Free some space on the disk of ${dir}, then continue the run with \`tiny-lab --resume [^\`]+\`\\.$`),
    );
    expect(report.complete).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp') || f.includes('lock'))).toEqual([]);
    // Meanwhile the folder became read-only: the --resume says so in one line, before writing anything.
    const readOnly = tinyLab(reports, ['--resume'], { WEBGRAD_FAIL_FS: 'writeFileSync:EROFS:.run.lock:0' });
    expect(readOnly.status, readOnly.out).toBe(1);
    expect(oneLine(readOnly.stderr)).toMatch(new RegExp(`^Cannot write ${join(dir, 'run.lock')}: the file system is read-only \\(EROFS\\)\\. Make ${dir} writable again, then continue the run with \`tiny-lab --resume [^\`]+\`\\.$`));
    const resumed = tinyLab(reports, ['--resume']);
    expect(resumed.status, resumed.out).toBe(0);
    const after = reportIn(reports).report;
    expect(after.complete).toBe(true);
    expect(after.experiments[0].metrics).toEqual(reference);
  });
});

describe('--resume reads only files inside the report folder', () => {
  /** A copy of the finished tiny report, made unfinished, with a figure entry pointing at `png`. */
  function withFigure(name: string, png: string): { reports: string; dir: string } {
    const reports = join(tmp, name);
    const dir = join(reports, 'report');
    mkdirSync(reports);
    cpSync(finishedReport, dir, { recursive: true });
    const report = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as LabReport;
    report.complete = false;
    report.experiments[0].figures = [{ title: 'a chart', png }];
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify(report));
    return { reports, dir };
  }
  const secret = () => {
    const path = join(tmp, 'secret.txt');
    writeFileSync(path, 'the secret of another file');
    return path;
  };
  const leaked = (dir: string, path: string) => readFileSync(join(dir, 'index.html'), 'utf8').includes(readFileSync(path).toString('base64'));

  it('a figure path that climbs out of the folder is refused, naming the entry', () => {
    const path = secret();
    const { reports, dir } = withFigure('escape', `../../../../../../../../..${path}`);
    const r = tinyLab(reports, ['--resume', dir]);
    expect(r.status, r.out).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'metrics.json')}: 'experiments[0].figures[0].png' is "../../../../../../../../..${path}", a path that leads outside the report folder; --resume reads only files inside the report folder`);
    expect(leaked(dir, path)).toBe(false);
  });

  it('a figure that is a symbolic link out of the folder is refused, naming the entry and its target', () => {
    const path = secret();
    const { reports, dir } = withFigure('link', '90-tiny/chart.png');
    mkdirSync(join(dir, '90-tiny'), { recursive: true });
    symlinkSync(path, join(dir, '90-tiny', 'chart.png'));
    const r = tinyLab(reports, ['--resume', dir]);
    expect(r.status, r.out).toBe(2);
    expect(r.stderr).toContain(`'experiments[0].figures[0].png' is "90-tiny/chart.png", a link to ${path}, outside the report folder`);
    expect(leaked(dir, path)).toBe(false);
  });
});
