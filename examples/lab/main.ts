/**
 * The runner behind `npm run lab` and every `npx tsx examples/NN-name.ts`: options (all
 * checked before anything is written), device, data, the report folder (new, or reopened by
 * --resume), then each experiment in turn. The report is written before the first experiment
 * and after every epoch, atomically, so a kill at any point leaves a run --resume continues.
 */
import { cpus, totalmem } from 'node:os';
import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as wg from '@webgrad/tensor';
import { type LabOptions, normaliseResumeArg, parseLabArgs, usage } from './cli';
import { DataCatalog } from './data';
import { type Experiment, ExperimentContext, SkipExperiment } from './experiment';
import { LabProgress } from './progress';
import { writeReport } from './report';
import { latestUnfinished, newReportDir, readReport } from './store';
import { type ReportLock, ReportLocked, lockReport } from './lock';
import { exitCodeOf, onStopRequest } from './stop';
import { StorageError, isStorageFailure, storageMessage } from './storage-error';
import { deviceLabel, duration, num, pct, textTable } from './format';
import type { ExperimentResult, LabReport, LabRunOptions } from './types';

export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/** One experiment on its own: same options, its own report folder. */
export async function runAlone(experiment: Experiment): Promise<void> {
  await runCli([experiment], process.argv.slice(2), `npx tsx examples/${experiment.id}.ts`);
}

/** Input the user can fix: printed with the usage, exit code 2, nothing written. */
class UsageError extends Error {}

export async function runCli(experiments: Experiment[], argv: string[], program: string): Promise<void> {
  let opts: LabOptions;
  let plan: ReportPlan;
  try {
    opts = parseLabArgs(normaliseResumeArg(argv));
    if (opts.help) {
      console.log(usage(program, experiments.map((e) => ({ id: e.id, title: `${e.title}: ${e.summary}` }))));
      return;
    }
    // A single experiment's report remembers that it holds only that one, for --resume.
    if (experiments.length === 1) opts.only = [experiments[0].id];
    plan = planReport(experiments, opts);
  } catch (err) {
    // Everything above reads only the arguments and the report folder: its errors are the user's to fix.
    console.error(`${(err as Error).message}\n\n${usage(program, experiments)}`);
    process.exit(2);
  }
  try {
    const report = await runLab(experiments, opts, program, `${program} ${argv.join(' ')}`.trim(), plan);
    process.exitCode = report.experiments.some((e) => e.status === 'failed') ? 1 : 0;
  } catch (err) {
    // The run cannot go on for a reason outside the experiments: one line, the stack only when asked for.
    if (!(err instanceof StorageError || err instanceof ReportLocked)) throw err;
    console.error(err.message);
    if (opts.verbose) console.error(((err instanceof StorageError ? err.cause : err) as Error)?.stack ?? '');
    process.exit(1);
  }
}

const matches = (e: Experiment, o: string) => o === String(e.number) || o === e.id || e.id.endsWith(`-${o}`) || e.id.slice(3).startsWith(o);

function select(experiments: Experiment[], only: string[] | undefined): Experiment[] {
  if (!only?.length) return experiments;
  const unknown = only.filter((o) => !experiments.some((e) => matches(e, o)));
  if (unknown.length) throw new UsageError(`--only: no experiment ${unknown.join(', ')} (known: ${experiments.map((e) => e.id).join(', ')})`);
  return experiments.filter((e) => only.some((o) => matches(e, o)));
}

function machine(): LabReport['machine'] {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model?.trim() ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.versions.node, platform: `${process.platform}-${process.arch}` };
}

/** What a run will do, decided (and every input checked) before anything is written. */
export interface ReportPlan {
  /** The interrupted report to continue, or null for a new folder. */
  dir: string | null;
  previous: LabReport | null;
  run: LabRunOptions;
  experiments: Experiment[];
}

/** The new report's options, or the interrupted one --resume names (with its options); throws on bad input. */
export function planReport(all: Experiment[], opts: LabOptions): ReportPlan {
  const given: LabRunOptions = { preset: opts.preset, device: opts.device, seed: opts.seed, only: opts.only, dataDir: opts.dataDir, download: opts.download };
  let dir: string | null = null;
  let previous: LabReport | null = null;
  let run = given;
  if (opts.resume) {
    dir = typeof opts.resume === 'string' ? resolve(opts.resume) : latestUnfinished(opts.reportsDir);
    previous = dir ? readReport(dir) : null;
    if (!dir || !previous) throw new UsageError(`--resume: no unfinished report under ${resolve(opts.reportsDir)}${typeof opts.resume === 'string' ? ` (looked for ${join(dir as string, 'metrics.json')})` : ''}`);
    if (previous.complete) throw new UsageError(`--resume: the report in ${dir} is complete; there is nothing to resume`);
    run = previous.options;
  }
  if (run.dataDir !== undefined && !existsSync(resolve(run.dataDir))) throw new UsageError(`--data: ${resolve(run.dataDir)} does not exist`);
  return { dir, previous, run, experiments: select(all, run.only) };
}

export async function runLab(all: Experiment[], opts: LabOptions, program: string, command: string, plan: ReportPlan = planReport(all, opts)): Promise<LabReport> {
  const started = performance.now();
  const { run, experiments } = plan;
  let previous = plan.previous;
  let dir: string;
  let lock: ReportLock;
  const locked = (what: string) => {
    try {
      return lockReport(dir, what);
    } catch (err) {
      if (!isStorageFailure(err, dir)) throw err;
      throw new StorageError(storageMessage(err, { reportsRoot: opts.reportsDir, dir, resume: plan.dir ? `${program} --resume ${relative(process.cwd(), dir) || dir}` : undefined }), err);
    }
  };
  if (plan.dir) {
    dir = plan.dir;
    lock = locked('--resume');
    // Read again under the lock: another run may have finished or advanced the report since it was planned.
    previous = readReport(dir);
    if (!previous || previous.complete) {
      lock.release();
      throw new ReportLocked(`--resume: the report in ${dir} was finished by another run meanwhile; there is nothing to resume`);
    }
    console.log(`Resuming ${dir} (${run.preset} preset, as first run: ${previous.command}); options given now are ignored`);
  } else {
    try {
      dir = newReportDir(opts.reportsDir, run.preset === 'default' ? '' : `-${run.preset}`);
    } catch (err) {
      throw new StorageError(storageMessage(err, { reportsRoot: opts.reportsDir }), err);
    }
    lock = locked('new report');
  }
  const resumeCommand = `${program} --resume ${relative(process.cwd(), dir) || dir}`;
  try {
    return await runLocked(experiments, opts, command, { dir, previous, run, started, resumeCommand, lock });
  } catch (err) {
    if (err instanceof StorageError || !isStorageFailure(err, dir)) throw err;
    throw new StorageError(storageMessage(err, { reportsRoot: opts.reportsDir, dir, resume: resumeCommand }), err);
  } finally {
    lock.release();
  }
}

interface LockedRun {
  dir: string;
  previous: LabReport | null;
  run: LabRunOptions;
  started: number;
  resumeCommand: string;
  lock: ReportLock;
}

async function runLocked(experiments: Experiment[], opts: LabOptions, command: string, { dir, previous, run, started, resumeCommand, lock }: LockedRun): Promise<LabReport> {
  const progress = new LabProgress(opts.progress);
  const device = await wg.useDevice(run.device);
  const data = new DataCatalog({ dataDir: run.dataDir, download: run.download });
  const priorSeconds = previous?.seconds ?? 0;
  const report: LabReport = {
    title: 'webgrad lab report',
    preset: run.preset,
    options: run,
    command: previous?.command ?? command,
    resumeCommand,
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    finishedAt: null,
    complete: false,
    seconds: priorSeconds,
    device: { device: device.device, description: device.description, ...(device.fallbackReason ? { fallbackReason: device.fallbackReason } : {}) },
    machine: machine(),
    data: [...(previous?.data ?? [])],
    missing: data.missing(),
    experiments: [],
  };
  const kept = new Map((previous?.experiments ?? []).filter((e) => e.status === 'done').map((e) => [e.id, e]));
  // What the interrupted run finished stays in the report from the first write on.
  report.experiments = experiments.flatMap((e) => kept.get(e.id) ?? []);
  const save = () => {
    for (const u of data.used) if (!report.data.some((d) => d.name === u.name && d.path === u.path)) report.data.push(u);
    report.seconds = priorSeconds + (performance.now() - started) / 1000;
    report.missing = data.missing();
    writeReport(dir, report);
  };
  console.log(`webgrad lab, ${run.preset} preset, on ${deviceLabel(device)}${device.fallbackReason ? ` — no WebGPU: ${device.fallbackReason}` : ''}`);
  console.log(`report: ${relative(process.cwd(), dir) || dir}`);
  // Ctrl-C, kill, a closed terminal or a lost launcher (stop.ts): all end the run the same way.
  const stopListening = onStopRequest((reason, why) => {
    progress.stop();
    // The terminal may be gone: nothing left to say then, but the report must still be saved.
    process.stdout.on('error', () => {});
    process.stderr.on('error', () => {});
    let saved = `finished experiments are in ${dir}`;
    try {
      save();
    } catch (err) {
      saved = isStorageFailure(err, dir) ? storageMessage(err, { reportsRoot: opts.reportsDir, dir }) : `the report could not be saved: ${(err as Error).message}`;
    }
    lock.release();
    console.log(`\nInterrupted (${why}): ${saved}; continue with \`${report.resumeCommand}\``);
    process.exit(exitCodeOf(reason));
  });
  // Before any experiment: a kill from here on leaves a report that --resume finds.
  save();
  try {
    for (const [i, e] of experiments.entries()) {
      if (kept.has(e.id)) {
        progress.log(`${e.number}. ${e.title}: kept from the interrupted run`);
        continue;
      }
      progress.experiment(i + 1, experiments.length, `${e.number}. ${e.title}`, e.short);
      const result = await runOne(e, { preset: run.preset, seed: run.seed, device, data, reportDir: dir, progress, jit: opts.jit, onEpochSaved: save });
      report.experiments.push(result);
      report.experiments.sort((a, b) => a.number - b.number);
      save();
    }
  } finally {
    stopListening();
    progress.stop();
  }
  report.complete = report.experiments.every((e) => e.status !== 'failed');
  report.finishedAt = new Date().toISOString();
  // Checkpoints exist to resume an interrupted run; a finished one no longer needs them. Removed
  // before the report says complete: a kill in between leaves a report whose --resume keeps
  // every experiment and only marks it complete, never a complete report with checkpoints.
  if (report.complete) rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
  save();
  printSummary(report, dir);
  return report;
}

async function runOne(e: Experiment, init: Omit<ConstructorParameters<typeof ExperimentContext>[0], 'experiment'>): Promise<ExperimentResult> {
  const ctx = new ExperimentContext({ experiment: e, ...init });
  const t0 = performance.now();
  wg.manualSeed(init.seed + 1000 * e.number);
  try {
    await e.run(ctx);
  } catch (err) {
    // A full disk or an unwritable report folder stops the run, not just this experiment.
    if (isStorageFailure(err, init.reportDir)) throw err;
    if (err instanceof SkipExperiment) {
      Object.assign(ctx.result, { status: 'skipped', reason: err.reason, enable: err.enable });
      ctx.log(`skipped: ${err.reason}. To enable: ${err.enable}`);
    } else {
      Object.assign(ctx.result, { status: 'failed', error: (err as Error).message });
      ctx.log(`FAILED: ${(err as Error).stack ?? err}`);
    }
  } finally {
    ctx.progress.endRun();
  }
  ctx.result.seconds = (performance.now() - t0) / 1000;
  return ctx.result;
}

function printSummary(r: LabReport, dir: string): void {
  const rows = r.experiments.flatMap((e) =>
    e.status !== 'done'
      ? [[`${e.number}`, e.title, e.status, '', '', '', '', '']]
      : e.headline.map((h) => [
          `${e.number}`,
          h.model,
          h.device,
          h.data,
          String(h.epochs),
          h.seconds.toFixed(1),
          `${num(h.trainLoss, 3)} / ${num(h.testLoss, 3)}`,
          h.psnr !== undefined ? `PSNR ${num(h.psnr, 2)} dB, SSIM ${num(h.ssim, 3)}` : `${pct(h.trainAccuracy)} / ${pct(h.testAccuracy)}`,
        ]),
  );
  console.log(`\n${textTable(['#', 'model', 'device', 'data', 'epochs', 'seconds', 'loss train / test', 'accuracy train / test (or PSNR, SSIM)'], rows)}`);
  console.log(`\nwhole run: ${duration(r.seconds)}; report: ${resolve(dir, 'index.html')}`);
}
