/**
 * Resume from any kill point, bit-exact: the tiny lab (test/helpers/tiny-lab.ts, the lab's
 * real runner) is SIGKILLed at several points, resumed with --resume, and must end with
 * exactly the losses, accuracies, weights and generator state of an uninterrupted run.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabReport } from '../examples/lab/types';

const root = resolve(__dirname, '..');
const reportsRoot = mkdtempSync(join(tmpdir(), 'webgrad-resume-'));
afterAll(() => rmSync(reportsRoot, { recursive: true, force: true }));

function tinyLab(reports: string, args: string[], killAt?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/tiny-lab.ts', '--device', 'cpu', '--progress', 'none', '--reports', reports, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, WEBGRAD_KILL_AT: killAt ?? '' },
  });
  return { status: r.status, signal: r.signal, out: `${r.stdout}${r.stderr}` };
}

function reportIn(reports: string): { dir: string; report: LabReport } {
  const dirs = readdirSync(reports);
  expect(dirs).toHaveLength(1);
  const dir = join(reports, dirs[0]);
  return { dir, report: JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as LabReport };
}

/** Every file under dir, relative. */
const filesUnder = (dir: string): string[] => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name).slice(dir.length + 1));

describe('the lab resumes bit-exact after kill -9', () => {
  let reference: unknown;

  it('an uninterrupted run', () => {
    const reports = join(reportsRoot, 'uninterrupted');
    const r = tinyLab(reports, []);
    expect(r.status, r.out).toBe(0);
    const { report } = reportIn(reports);
    expect(report.complete).toBe(true);
    reference = report.experiments[0].metrics;
    expect(Object.keys(reference as object)).toEqual(['run a', 'run b']);
  });

  const points: [string, string][] = [
    ['before the first checkpoint', 'a:0:2'],
    ['mid-epoch', 'a:1:3'],
    ['right after a checkpoint', 'a:2:1'],
    ['right after the first run finished', 'b:0:1'],
  ];
  for (const [when, killAt] of points) {
    it(`killed ${when} (${killAt}), then --resume`, () => {
      const reports = join(reportsRoot, killAt.replace(/:/g, '-'));
      const killed = tinyLab(reports, ['--seed', '0'], killAt);
      expect(killed.signal, killed.out).toBe('SIGKILL');
      // The report was written before the first experiment and after every epoch.
      const before = reportIn(reports);
      expect(before.report.complete).toBe(false);
      const resumed = tinyLab(reports, ['--resume']);
      expect(resumed.status, resumed.out).toBe(0);
      expect(resumed.out).toContain(`Resuming ${before.dir}`);
      const after = reportIn(reports);
      expect(after.report.complete).toBe(true);
      expect(after.report.experiments[0].status).toBe('done');
      expect(after.report.experiments[0].metrics).toEqual(reference);
      // No temporary file of the killed process is left behind.
      expect(filesUnder(after.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
  }

  it("another run's checkpoint and a damaged one are refused naming the file; deleting it lets the resume finish bit-exact", () => {
    const reports = join(reportsRoot, 'foreign');
    expect(tinyLab(reports, [], 'b:1:2').signal).toBe('SIGKILL');
    const { dir } = reportIn(reports);
    const ckpt = (run: string) => join(dir, 'checkpoints', '90-tiny', `${run}.safetensors`);
    // Run a's checkpoint (same architecture) put in place of run b's.
    copyFileSync(ckpt('a'), ckpt('b'));
    const foreign = tinyLab(reports, ['--resume']);
    expect(foreign.status, foreign.out).toBe(1);
    let report = reportIn(reports).report;
    expect(report.complete).toBe(false);
    expect(report.experiments[0].status).toBe('failed');
    expect(report.experiments[0].error).toBe(
      `checkpoint ${ckpt('b')}: it belongs to another run (run: the file has "a", expected "b"). Delete it and resume again: that training run (run b) then starts over`,
    );
    // One flipped byte in the tensor data.
    const bytes = readFileSync(ckpt('a'));
    bytes[bytes.length - 5] ^= 1;
    writeFileSync(ckpt('b'), readFileSync(ckpt('a')));
    writeFileSync(ckpt('a'), bytes);
    const damaged = tinyLab(reports, ['--resume']);
    expect(damaged.status, damaged.out).toBe(1);
    report = reportIn(reports).report;
    expect(report.experiments[0].error).toMatch(new RegExp(`^checkpoint ${ckpt('a')}: the tensor bytes are damaged \\(checksum crc32:[0-9a-f]{8}, the file records crc32:[0-9a-f]{8}\\)\\. Delete it`));
    // Doing what the messages say: both runs start over, and end as the uninterrupted run did.
    rmSync(ckpt('a'));
    rmSync(ckpt('b'));
    const fixed = tinyLab(reports, ['--resume']);
    expect(fixed.status, fixed.out).toBe(0);
    report = reportIn(reports).report;
    expect(report.complete).toBe(true);
    expect(report.experiments[0].metrics).toEqual(reference);
  });
});
