/**
 * Resume bookkeeping. A report folder holds, besides the report:
 *   checkpoints/<experiment>/<run>.safetensors   model + optimizer + history, after every epoch
 *   checkpoints/<experiment>/<run>.json          the run's summary, once it has finished
 * --resume reopens the folder: finished experiments come back from metrics.json, finished
 * runs from their summaries (weights reloaded), and an interrupted run from its last epoch.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2));
  renameSync(tmp, path);
}

/** reports/2025-05-01_14-03-22: sortable, and legal on every file system. */
export function newReportDir(root: string, suffix = ''): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}_${p(d.getHours())}-${p(d.getMinutes())}-${p(d.getSeconds())}`;
  let dir = resolve(root, stamp + suffix);
  for (let i = 2; existsSync(dir); i++) dir = resolve(root, `${stamp}${suffix}-${i}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function readReport(dir: string): LabReport | null {
  const path = join(dir, 'metrics.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LabReport;
  } catch {
    return null;
  }
}

/** The newest report folder under root whose run did not finish. */
export function latestUnfinished(root: string): string | null {
  const abs = resolve(root);
  if (!existsSync(abs)) return null;
  const dirs = readdirSync(abs)
    .map((n) => join(abs, n))
    .filter((p) => statSync(p).isDirectory() && existsSync(join(p, 'metrics.json')))
    .sort()
    .reverse();
  return dirs.find((d) => readReport(d)?.complete === false) ?? null;
}
