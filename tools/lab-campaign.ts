/**
 * The lab's robustness campaign (issue 23's proof), too slow for CI (about 10 minutes on a
 * 2-core CPU); CI runs its small versions (test/lab-resume.test.ts, test/lab-runs.test.ts).
 *
 *   npx tsx tools/lab-campaign.ts [--kills 10] [--races 20] [--seed 1] [--skip-kills] [--skip-races] [--skip-mounts]
 *
 * 1. kill -9 campaign: one quick-preset lab run SIGKILLed at random moments, `--resume`d after
 *    each kill, against an uninterrupted run: every number (losses, accuracies, per-image
 *    results, metrics; not the timings) must be identical.
 * 2. Races: pairs of tiny labs (test/helpers/tiny-lab.ts) started together on one --reports
 *    must get distinct folders; pairs of processes making report folders in the same
 *    millisecond likewise; two `--resume`s of one killed report at once: one runs, one is
 *    refused, and the report ends as an uninterrupted one.
 * 3. Real file systems (root only; skipped otherwise): a tiny tmpfs fills up mid-run (ENOSPC:
 *    one line, exit 1; grown again, `--resume` finishes with identical numbers), and a
 *    read-only mount as --reports (EROFS: one line, exit 1).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '10' },
    races: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    'skip-kills': { type: 'boolean' },
    'skip-races': { type: 'boolean' },
    'skip-mounts': { type: 'boolean' },
  },
});
const work = mkdtempSync(join(tmpdir(), 'webgrad-campaign-'));
let s = Number(values.seed);
const random = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

function start(args: string[], env: Record<string, string> = {}): { child: ChildProcess; ended: Promise<Ended> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  return { child, ended: new Promise((done) => child.on('close', (code, signal) => done({ code, signal, out }))) };
}
const run = (args: string[], env: Record<string, string> = {}) => start(args, env).ended;

function onlyDir(reports: string): string {
  const dirs = readdirSync(reports);
  if (dirs.length !== 1) throw new Error(`${reports}: expected one report folder, found ${dirs.join(', ')}`);
  return join(reports, dirs[0]);
}
const metricsOf = (reports: string) => JSON.parse(readFileSync(join(onlyDir(reports), 'metrics.json'), 'utf8'));

/** An object without its timings (seconds, imagesPerSecond, secondsPerFullEpoch...). */
const untimed = (o: object) => Object.fromEntries(Object.entries(o).filter(([k]) => !/second|time/i.test(k)));

/** Every number a run produces, without its timings. */
function numbers(report: { complete: boolean; experiments: { id: string; status: string; runs: { key: string; epochs: Record<string, unknown>[]; testImages?: unknown; extra: unknown }[]; metrics: Record<string, unknown> }[] }) {
  return {
    complete: report.complete,
    experiments: report.experiments.map((e) => ({
      id: e.id,
      status: e.status,
      runs: e.runs.map((r) => ({ key: r.key, epochs: r.epochs.map(untimed), testImages: r.testImages, extra: untimed(r.extra as object) })),
      metrics: untimed(e.metrics),
    })),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Where two JSON values differ: up to `max` paths, with both values. */
function differences(a: unknown, b: unknown, path = '', out: string[] = [], max = 8): string[] {
  if (out.length >= max || same(a, b)) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`, out, max);
  } else out.push(`${path}: ${JSON.stringify(a)?.slice(0, 120)} against ${JSON.stringify(b)?.slice(0, 120)}`);
  return out;
}
const results: string[] = [];
const say = (line: string) => {
  console.log(line);
  results.push(line);
};

async function killCampaign(kills: number): Promise<void> {
  const LAB = ['examples/lab.ts', '--quick', '--device', 'cpu', '--progress', 'none', '--no-download'];
  const t0 = Date.now();
  const ref = await run([...LAB, '--reports', join(work, 'reference')]);
  if (ref.code !== 0) throw new Error(`reference run failed:\n${ref.out}`);
  const reference = numbers(metricsOf(join(work, 'reference')));
  console.log(`reference run: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const reports = join(work, 'killed');
  let landed = 0;
  let attempts = 0;
  let finished = false;
  while (landed < kills && !finished) {
    attempts++;
    const p = start([...LAB, '--reports', reports, ...(attempts > 1 ? ['--resume'] : [])]);
    const after = 4000 + random() * 16000;
    const timer = setTimeout(() => p.child.kill('SIGKILL'), after);
    const e = await p.ended;
    clearTimeout(timer);
    if (e.signal === 'SIGKILL') {
      landed++;
      console.log(`kill ${landed}: after ${(after / 1000).toFixed(1)} s`);
    } else if (e.code === 0) finished = true;
    else throw new Error(`run ${attempts} ended with ${e.code}:\n${e.out}`);
  }
  if (!finished) {
    const last = await run([...LAB, '--reports', reports, '--resume']);
    if (last.code !== 0) throw new Error(`the last --resume failed:\n${last.out}`);
  }
  const got = numbers(metricsOf(reports));
  const leftovers = readdirSync(onlyDir(reports), { recursive: true }).map(String).filter((f) => f.endsWith('.tmp') || f.includes('lock') || f.startsWith('checkpoints'));
  say(`kill -9 campaign: ${landed} kills landed (${attempts} starts), final numbers ${same(got, reference) ? 'IDENTICAL' : 'DIFFERENT'} to the uninterrupted run, leftovers: ${leftovers.length ? leftovers.join(', ') : 'none'}`);
  for (const d of differences(got, reference)) say(`  differs at ${d}`);
}

async function races(trials: number): Promise<void> {
  const TINY = ['test/helpers/tiny-lab.ts', '--device', 'cpu', '--progress', 'none'];
  // Whole processes started together.
  let distinct = 0;
  for (let t = 0; t < trials; t++) {
    const reports = join(work, 'pairs', String(t));
    const ends = await Promise.all([run([...TINY, '--reports', reports]), run([...TINY, '--reports', reports])]);
    if (ends.some((e) => e.code !== 0)) throw new Error(`a racing run failed:\n${ends.map((e) => e.out).join('\n')}`);
    if (readdirSync(reports).length === 2) distinct++;
  }
  say(`two tiny labs started together, one --reports: ${distinct} of ${trials} trials got distinct folders`);
  // Folder creation in the same millisecond (both processes spin until an agreed instant).
  const at = Date.now() + 4000;
  const sides = await Promise.all([0, 1].map(() => run(['test/helpers/race-report-dir.ts', join(work, 'same-ms'), String(trials), String(at)])));
  if (sides.some((e) => e.code !== 0)) throw new Error(sides.map((e) => e.out).join('\n'));
  const sameMs = Array.from({ length: trials }, (_, t) => readdirSync(join(work, 'same-ms', String(t))).length).filter((n) => n === 2).length;
  say(`report folders made by two processes in the same millisecond: ${sameMs} of ${trials} trials distinct`);
  // Two --resumes of one killed report.
  const reference = await run([...TINY, '--reports', join(work, 'resume-reference')]);
  if (reference.code !== 0) throw new Error(reference.out);
  const expected = metricsOf(join(work, 'resume-reference')).experiments[0].metrics;
  let oneRefused = 0;
  let identical = 0;
  for (let t = 0; t < trials; t++) {
    const reports = join(work, 'resumes', String(t));
    const killed = await run([...TINY, '--reports', reports], { WEBGRAD_KILL_AT: 'a:1:2' });
    if (killed.signal !== 'SIGKILL') throw new Error(`the run to resume was not killed:\n${killed.out}`);
    const ends = await Promise.all([run([...TINY, '--reports', reports, '--resume']), run([...TINY, '--reports', reports, '--resume'])]);
    const ok = ends.filter((e) => e.code === 0).length;
    const refused = ends.filter((e) => e.code !== 0 && /in use by process|finished by another run|is complete; there is nothing to resume/.test(e.out)).length;
    if (ok === 1 && refused === 1) oneRefused++;
    else console.log(`trial ${t}: ${ok} resumed, ${refused} refused:\n${ends.map((e) => e.out).join('\n---\n')}`);
    const m = metricsOf(reports);
    if (m.complete && same(m.experiments[0].metrics, expected)) identical++;
  }
  say(`two --resumes of one killed report at once: ${oneRefused} of ${trials} trials had one resume and one refusal; ${identical} of ${trials} reports ended identical to an uninterrupted run`);
}

async function mounts(): Promise<void> {
  if (process.getuid?.() !== 0) {
    say('real file systems: skipped (mounting a tmpfs needs root)');
    return;
  }
  const TINY = ['test/helpers/tiny-lab.ts', '--device', 'cpu', '--progress', 'none'];
  const reference = await run([...TINY, '--reports', join(work, 'mount-reference')]);
  const expected = metricsOf(join(work, 'mount-reference')).experiments[0].metrics;
  const mnt = join(work, 'tmpfs');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
  } catch (err) {
    say(`real file systems: skipped (mount failed: ${(err as Error).message.split('\n')[0]})`);
    return;
  }
  try {
    const full = await run([...TINY, '--reports', mnt]);
    const lines = full.out.trim().split('\n');
    const last = lines[lines.length - 1];
    const stack = /^\s+at /m.test(full.out);
    say(`tmpfs of 64 KiB as --reports: exit ${full.code}, ${stack ? 'WITH' : 'no'} stack trace, last line: ${last}`);
    execFileSync('mount', ['-o', 'remount,size=8m', mnt]);
    const resumed = await run([...TINY, '--reports', mnt, '--resume']);
    const m = metricsOf(mnt);
    say(`after growing it to 8 MiB, --resume: exit ${resumed.code}, complete ${m.complete}, numbers ${same(m.experiments[0].metrics, expected) ? 'IDENTICAL' : 'DIFFERENT'} to an uninterrupted run`);
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    const ro = await run([...TINY, '--reports', join(mnt, 'more')]);
    say(`read-only mount as --reports: exit ${ro.code}, ${/^\s+at /m.test(ro.out) ? 'WITH' : 'no'} stack trace: ${ro.out.trim()}`);
  } finally {
    execFileSync('umount', [mnt]);
  }
  void reference;
}

try {
  if (!values['skip-kills']) await killCampaign(Number(values.kills));
  if (!values['skip-races']) await races(Number(values.races));
  if (!values['skip-mounts']) await mounts();
  console.log(`\nsummary:\n${results.join('\n')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
