/**
 * The lab reports a diverging run (point 2 of issue 23): its training goes through nn.fit,
 * whose default onNonFinite 'stop' ends the run with an error naming the epoch, the step and
 * the parameter; the experiment is marked failed with that message and the lab exits 1.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { LabReport } from '../examples/lab/types';

const root = resolve(__dirname, '..');
const reports = mkdtempSync(join(tmpdir(), 'webgrad-diverging-'));
afterAll(() => rmSync(reports, { recursive: true, force: true }));

it('a lab run with lr 1e6 fails with the divergence error instead of reporting NaN losses', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/diverging-lab.ts', '--device', 'cpu', '--progress', 'lines', '--reports', reports], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const out = `${r.stdout}${r.stderr}`;
  expect(r.status, out).toBe(1);
  expect(out).toMatch(/FAILED: TrainingDivergedError: fit: training diverged at epoch \d\/3, step \d: the loss is \S+ (and|but) the gradient of \d\.(weight|bias) is not finite/);
  const [dir] = readdirSync(reports);
  const report = JSON.parse(readFileSync(join(reports, dir, 'metrics.json'), 'utf8')) as LabReport;
  const experiment = report.experiments[0];
  expect(experiment.status).toBe('failed');
  expect(experiment.error).toMatch(/^fit: training diverged at epoch \d\/3, step \d: .*Lower the learning rate \(it is 1000000\)/);
}, 90_000);
