/**
 * The runner behind `npm run lab` and every `npx tsx examples/NN-name.ts`: options, device,
 * data, the report folder (new, or reopened by --resume), then each experiment in turn with
 * the report rewritten after each one, so Ctrl-C or a crash keeps what finished.
 */
import { cpus, totalmem } from 'node:os';
import { rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as wg from '@webgrad/tensor';
import { type LabOptions, normaliseResumeArg, parseLabArgs, usage } from './cli';
import { DataCatalog } from './data';
import { type Experiment, ExperimentContext, SkipExperiment } from './experiment';
import { LabProgress } from './progress';
import { writeReport } from './report';
import { latestUnfinished, newReportDir, readReport } from './store';
import { deviceLabel, duration, num, pct, textTable } from './format';
import type { ExperimentResult, LabReport, LabRunOptions } from './types';

export function isMain(moduleUrl: string): boolean {
  return !!process.argv[1] && resolve(process.argv[1]) === fileURLToPath(moduleUrl);
}

/** One experiment on its own: same options, its own report folder. */
export async function runAlone(experiment: Experiment): Promise<void> {
  await runCli([experiment], process.argv.slice(2), `npx tsx examples/${experiment.id}.ts`);
}

export async function runCli(experiments: Experiment[], argv: string[], program: string): Promise<void> {
  let opts: LabOptions;
  try {
    opts = parseLabArgs(normaliseResumeArg(argv));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage(program, experiments)}`);
    process.exit(2);
  }
  if (opts.help) {
    console.log(usage(program, experiments.map((e) => ({ id: e.id, title: `${e.title}: ${e.summary}` }))));
    return;
  }
  // A single experiment's report remembers that it holds only that one, for --resume.
  if (experiments.length === 1) opts.only = [experiments[0].id];
  const report = await runLab(experiments, opts, program, `${program} ${argv.join(' ')}`.trim());
  process.exitCode = report.experiments.some((e) => e.status === 'failed') ? 1 : 0;
}

function select(experiments: Experiment[], only: string[] | undefined): Experiment[] {
  if (!only?.length) return experiments;
  const chosen = experiments.filter((e) => only.some((o) => o === String(e.number) || o === e.id || e.id.endsWith(`-${o}`) || e.id.slice(3).startsWith(o)));
  const unknown = only.filter((o) => !experiments.some((e) => o === String(e.number) || o === e.id || e.id.endsWith(`-${o}`) || e.id.slice(3).startsWith(o)));
  if (unknown.length) throw new Error(`--only: no experiment ${unknown.join(', ')} (known: ${experiments.map((e) => e.id).join(', ')})`);
  return chosen;
}

function machine(): LabReport['machine'] {
  const c = cpus();
  return { cpus: c.length, cpuModel: c[0]?.model?.trim() ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.versions.node, platform: `${process.platform}-${process.arch}` };
}

/** Opens the report folder: a fresh one, or the interrupted one --resume names (with its options). */
function openReport(opts: LabOptions): { dir: string; previous: LabReport | null; run: LabRunOptions } {
  const given: LabRunOptions = { preset: opts.preset, device: opts.device, seed: opts.seed, only: opts.only, dataDir: opts.dataDir, download: opts.download };
  if (!opts.resume) return { dir: newReportDir(opts.reportsDir, opts.preset === 'default' ? '' : `-${opts.preset}`), previous: null, run: given };
  const dir = typeof opts.resume === 'string' ? resolve(opts.resume) : latestUnfinished(opts.reportsDir);
  const previous = dir ? readReport(dir) : null;
  if (!dir || !previous) throw new Error(`--resume: no unfinished report under ${resolve(opts.reportsDir)}${typeof opts.resume === 'string' ? ` (looked at ${opts.resume})` : ''}`);
  console.log(`Resuming ${dir} (${previous.preset} preset, as first run: ${previous.command}); options given now are ignored`);
  return { dir, previous, run: previous.options };
}

export async function runLab(all: Experiment[], opts: LabOptions, program: string, command: string): Promise<LabReport> {
  const started = performance.now();
  const { dir, previous, run } = openReport(opts);
  const experiments = select(all, run.only);
  const progress = new LabProgress(opts.progress);
  const device = await wg.useDevice(run.device);
  const data = new DataCatalog({ dataDir: run.dataDir, download: run.download });
  const priorSeconds = previous?.seconds ?? 0;
  const report: LabReport = {
    title: 'webgrad lab report',
    preset: run.preset,
    options: run,
    command: previous?.command ?? command,
    resumeCommand: `${program} --resume ${relative(process.cwd(), dir) || dir}`,
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
  const kept = new Map((previous?.experiments ?? []).filter((e) => e.status !== 'failed').map((e) => [e.id, e]));
  const save = () => {
    for (const u of data.used) if (!report.data.some((d) => d.name === u.name && d.path === u.path)) report.data.push(u);
    report.seconds = priorSeconds + (performance.now() - started) / 1000;
    report.missing = data.missing();
    writeReport(dir, report);
  };
  console.log(`webgrad lab, ${run.preset} preset, on ${deviceLabel(device)}${device.fallbackReason ? ` — no WebGPU: ${device.fallbackReason}` : ''}`);
  console.log(`report: ${relative(process.cwd(), dir) || dir}`);
  // Ctrl-C reaches npm and tsx too, and they may pass it on as SIGTERM: both end the run the same way.
  const onSignal = (signal: NodeJS.Signals) => {
    progress.stop();
    save();
    console.log(`\nInterrupted (${signal}): finished experiments are in ${dir}; continue with \`${report.resumeCommand}\``);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const [i, e] of experiments.entries()) {
      const done = kept.get(e.id);
      if (done && done.status === 'done') {
        report.experiments.push(done);
        progress.log(`${e.number}. ${e.title}: kept from the interrupted run`);
        continue;
      }
      progress.experiment(i + 1, experiments.length, `${e.number}. ${e.title}`, e.short);
      const result = await runOne(e, { preset: run.preset, seed: run.seed, device, data, reportDir: dir, progress });
      report.experiments.push(result);
      save();
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    progress.stop();
  }
  report.complete = report.experiments.every((e) => e.status !== 'failed');
  report.finishedAt = new Date().toISOString();
  save();
  // Checkpoints exist to resume an interrupted run; a finished one no longer needs them.
  if (report.complete) rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
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
