/**
 * The lab's screenshot-free check: `npm run lab -- --quick` writes a report folder with
 * index.html, report.md, a metrics.json that names every experiment, and at least one PNG per
 * experiment. Runs the real program as a child process (its own Dawn device, its own exit).
 * On cpu: the device paths have their own suites, and cpu keeps this check's time steady.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { LabReport } from '../examples/lab/types';
import { named } from '../examples/lab/classify';
import { atChance, compareRuns } from '../examples/lab/stats';

const root = resolve(__dirname, '..');
const EXPERIMENTS = ['01-basics', '02-cifar-handwritten', '03-hyperparameters', '04-alexnet', '05-mlp-vs-cnn', '06-dilated', '07-resnet', '08-vehicles', '09-dehaze'];
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Beside the repository, as on the developers' machines and in CI: there every experiment must run. */
const sharedData = resolve(root, '..', 'shared', 'data');
/** Words that rank runs, and the words by which a sentence applies the report's rule to its ranking. */
const RANKING = /\b(best|worst|fastest|slowest|faster|slower|most accurate)\b/i;
const RULED = /beyond the noise|more than the noise|within the noise|cannot tell|names no|ranges (do not )?overlap/;

describe('npm run lab -- --quick', () => {
  it('writes index.html, report.md, metrics.json with every experiment, and PNGs per experiment', { timeout: 180_000 }, async () => {
    const reports = mkdtempSync(join(tmpdir(), 'webgrad-lab-'));
    try {
      const tsx = join(root, 'node_modules', '.bin', 'tsx');
      const { stdout } = await promisify(execFile)(tsx, ['examples/lab.ts', '--quick', '--device', 'cpu', '--progress', 'lines', '--reports', reports, '--no-download'], {
        cwd: root,
        timeout: 175_000,
        maxBuffer: 64 * 2 ** 20,
      });
      expect(stdout).toContain('whole run:');
      const dirs = readdirSync(reports);
      expect(dirs).toHaveLength(1);
      const dir = join(reports, dirs[0]);

      const html = readFileSync(join(dir, 'index.html'), 'utf8');
      expect(html.startsWith('<!doctype html>')).toBe(true);
      expect(html).toContain('</html>');
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('## Headline');

      const report = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as LabReport;
      expect(report.complete).toBe(true);
      expect(report.preset).toBe('quick');
      expect(report.experiments.map((e) => e.id)).toEqual(EXPERIMENTS);
      for (const e of report.experiments) {
        expect(e.status, `${e.id}: ${e.error ?? e.reason ?? ''}`).not.toBe('failed');
        if (existsSync(sharedData)) expect(e.status, `${e.id}: ${e.reason ?? ''}`).toBe('done');
        if (e.status !== 'done') continue;
        expect(e.settings.length, e.id).toBeGreaterThan(1);
        expect(e.analysis.length, e.id).toBeGreaterThan(0);
        const pngs = e.figures.map((f) => join(dir, f.png));
        expect(pngs.length, e.id).toBeGreaterThan(0);
        for (const p of pngs) expect(readFileSync(p).subarray(0, 8).equals(PNG_SIGNATURE), p).toBe(true);
      }
      // The closing section answers every lab question; beside the shared data none goes unanswered.
      expect(html).toContain('<section id="conclusions">');
      expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain('## Conclusions');
      expect(report.conclusions?.length).toBeGreaterThan(10);
      for (const c of report.conclusions ?? []) {
        expect(['supported', 'not supported', 'undecided', 'not run'], c.question).toContain(c.verdict);
        if (existsSync(sharedData)) expect(c.verdict, `${c.question}: ${c.evidence}`).not.toBe('not run');
      }
      // Classification runs carry their per-image results, so runs on the same test images compare paired.
      const mlpVsCnn = report.experiments.find((x) => x.id === '05-mlp-vs-cnn');
      if (mlpVsCnn?.status === 'done') {
        for (const r of mlpVsCnn.runs) expect(r.testImages?.correct.length, r.key).toBeGreaterThan(0);
        const [mlp, cnn] = ['mlp', 'cnn'].map((k) => named(mlpVsCnn.runs.find((r) => r.key === k)!));
        expect(compareRuns(cnn, mlp).paired).not.toBeNull();
      }
      // Experiment 8 offers its trained model beside the report: ONNX and both state dicts.
      const vehicles = report.experiments.find((x) => x.id === '08-vehicles');
      if (vehicles?.status === 'done') {
        for (const f of ['vehicles-cnn.onnx', 'vehicles-cnn.safetensors', 'vehicles-cnn.pytorch.safetensors']) expect(existsSync(join(dir, '08-vehicles', f)), f).toBe(true);
        expect(html).toContain('08-vehicles/vehicles-cnn.onnx');
      }
      // Prose that ranks runs follows the Conclusions' rule: a sentence naming a best, worst or
      // faster run says that it is beyond the noise, or that this run names none.
      for (const e of report.experiments) {
        for (const sentence of e.analysis.flatMap((p) => p.split(/(?<=[.!?])\s+(?=[A-Z])/))) {
          if (RANKING.test(sentence)) expect(sentence, e.id).toMatch(RULED);
        }
      }
      const hyper = report.experiments.find((x) => x.id === '03-hyperparameters');
      if (hyper?.status === 'done') {
        const markdown = readFileSync(join(dir, 'report.md'), 'utf8');
        expect(markdown).not.toMatch(/the best was/);
        // On the quick preset's few test images every configuration is at chance: the report says there is no best.
        if (hyper.runs.every((r) => atChance(named(r).accuracy, named(r).classes))) expect(hyper.analysis.join('\n')).toContain('so this run names no best configuration');
      }
      // Every figure is inside the self-contained page, not only linked from it.
      const figures = report.experiments.reduce((n, x) => n + x.figures.length, 0);
      expect(html.split('<img src="data:image/').length - 1).toBe(figures);
    } finally {
      rmSync(reports, { recursive: true, force: true });
    }
  });
});
