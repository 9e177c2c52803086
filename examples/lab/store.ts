/**
 * Resume bookkeeping. A report folder holds, besides the report:
 *   checkpoints/<experiment>/<run>.safetensors   model + optimizer + history, after every epoch
 *   checkpoints/<experiment>/<run>.json          the run's summary, once it has finished
 * --resume reopens the folder: finished experiments come back from metrics.json, finished
 * runs from their summaries (weights reloaded), and an interrupted run from its last epoch.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import type { LabReport, RunSummary } from './types';

export class RunStore {
  readonly dir: string;
  constructor(reportDir: string, experimentId: string) {
    this.dir = join(reportDir, 'checkpoints', experimentId);
    mkdirSync(this.dir, { recursive: true });
  }
  checkpointPath(key: string): string {
    return join(this.dir, `${key}.safetensors`);
  }
  finished(key: string): RunSummary | null {
    const path = join(this.dir, `${key}.json`);
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as RunSummary) : null;
  }
  saveFinished(summary: RunSummary): void {
    writeJsonAtomic(join(this.dir, `${summary.key}.json`), summary);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, JSON.stringify(value, null, 2));
}

/** A temporary file beside `path`, then a rename: a kill leaves the old file or the new, never half of one. */
export function writeTextAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk leaves a truncated temporary file: remove it, the old file stays valid.
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * A new folder reports/2025-05-01_14-03-22 (sortable, and legal on every file system), made
 * with an exclusive create: two runs started in the same second get -2, -3... and never share one.
 */
export function newReportDir(root: string, suffix = ''): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  makeFolders(resolve(root));
  for (let i = 1; ; i++) {
    const dir = resolve(root, i === 1 ? stamp + suffix : `${stamp}${suffix}-${i}`);
    try {
      mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/**
 * mkdir -p one level at a time: a recursive mkdirSync on a read-only file system reports
 * ENOENT for the missing folder, where this reports what stops it (EROFS, EACCES, ENOTDIR).
 */
function makeFolders(path: string): void {
  try {
    mkdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && statSync(path).isDirectory()) return;
    if (code !== 'ENOENT' || dirname(path) === path) throw err;
    makeFolders(dirname(path));
    mkdirSync(path);
  }
}

/** Why a report folder cannot be resumed: names the file and what to do. */
export class ReportError extends Error {}

/**
 * The report in `dir`, or null when the folder has no metrics.json. A metrics.json that
 * cannot be read as a lab report is an error naming it, never skipped: skipping would resume
 * an older report or start afresh while the user's run sits there.
 */
export function readReport(dir: string): LabReport | null {
  const path = join(dir, 'metrics.json');
  if (!existsSync(path)) return null;
  const fix = `fix or delete ${path} (deleting it leaves that run unresumable), or name another report folder with --resume DIR`;
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ReportError(`${path} is damaged and cannot be resumed: ${(err as Error).message}. To go on: ${fix}`);
  }
  const problem = reportProblem(report);
  if (problem) throw new ReportError(`${path} is not a lab report (${problem}) and cannot be resumed. To go on: ${fix}`);
  const escape = pathProblem(dir, report as LabReport);
  if (escape) throw new ReportError(`${path}: ${escape}; --resume reads only files inside the report folder, so it refuses this report. To go on: ${fix}`);
  return report as LabReport;
}

/** What makes `r` unusable as a LabReport for --resume, or null. */
function reportProblem(r: unknown): string | null {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return `it holds ${JSON.stringify(r)}, not an object`;
  const o = r as Partial<LabReport>;
  if (typeof o.options !== 'object' || o.options === null) return "'options' is missing";
  const opts = o.options;
  if (!['quick', 'default', 'full'].includes(opts.preset)) return `'options.preset' is ${JSON.stringify(opts.preset)}`;
  if (!['auto', 'cpu', 'webgpu'].includes(opts.device)) return `'options.device' is ${JSON.stringify(opts.device)}`;
  if (!Number.isInteger(opts.seed)) return `'options.seed' is ${JSON.stringify(opts.seed)}`;
  if (opts.only !== undefined && !(Array.isArray(opts.only) && opts.only.every((x) => typeof x === 'string'))) return `'options.only' is ${JSON.stringify(opts.only)}`;
  if (typeof o.complete !== 'boolean') return "'complete' is missing";
  if (!Array.isArray(o.experiments)) return "'experiments' is missing";
  if (typeof o.command !== 'string' || typeof o.startedAt !== 'string') return "'command' or 'startedAt' is missing";
  return null;
}

/**
 * The first file entry of a report that does not stay inside its folder, or null. --resume
 * embeds the figures it names into index.html: a `../../etc/passwd` there, or a symbolic
 * link out of the folder, would copy any file the user can read into the report.
 */
function pathProblem(dir: string, r: LabReport): string | null {
  for (const [i, e] of r.experiments.entries()) {
    if (typeof e !== 'object' || e === null) return `'experiments[${i}]' is ${JSON.stringify(e)}`;
    if (e.figures === undefined) continue;
    if (!Array.isArray(e.figures)) return `'experiments[${i}].figures' is not a list`;
    for (const [j, f] of e.figures.entries()) {
      for (const key of ['png', 'svg'] as const) {
        if (key === 'svg' && f?.svg === undefined) continue;
        const problem = outsideProblem(dir, f?.[key]);
        if (problem) return `'experiments[${i}].figures[${j}].${key}' is ${JSON.stringify(f?.[key])}, ${problem}`;
      }
    }
  }
  return null;
}

/** Why the relative path `rel` does not name a file inside `dir`, or null when it does. */
export function outsideProblem(dir: string, rel: unknown): string | null {
  if (typeof rel !== 'string' || rel === '') return 'not a file name';
  if (isAbsolute(rel)) return 'an absolute path, not one inside the report folder';
  const root = resolve(dir);
  const abs = resolve(root, rel);
  if (!abs.startsWith(root + sep)) return 'a path that leads outside the report folder';
  // Through a symbolic link: compare where both really are.
  let real: string;
  try {
    real = realpathSync(abs);
  } catch {
    return null; // not there (yet): nothing to follow
  }
  return real.startsWith(realpathSync(root) + sep) ? null : `a link to ${real}, outside the report folder`;
}

/** The newest report folder under root whose run did not finish (a damaged newest one is an error, not skipped). */
export function latestUnfinished(root: string): string | null {
  const abs = resolve(root);
  if (!existsSync(abs)) return null;
  const dirs = readdirSync(abs)
    .map((n) => join(abs, n))
    .filter((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() && existsSync(join(p, 'metrics.json')))
    .sort()
    .reverse();
  return dirs.find((d) => readReport(d)?.complete === false) ?? null;
}
