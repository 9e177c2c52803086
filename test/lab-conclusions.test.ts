/**
 * The report's closing section (examples/lab/conclusions.ts): each lab question answered
 * from synthetic experiment results, by the stats.ts rule, and "not run" for experiments
 * that were skipped, failed or not selected.
 */
import { describe, expect, it } from 'vitest';
import { QUESTIONS, conclusions } from '../examples/lab/conclusions';
import { experiments } from '../examples/lab/experiments';
import { meanInterval } from '../examples/lab/stats';
import type { ExperimentResult, RunSummary } from '../examples/lab/types';

function runOf(key: string, correct: number, n: number, opts: { classes?: number; seconds?: number[]; trainCount?: number; trainLoss?: number } = {}): RunSummary {
  const seconds = opts.seconds ?? [1, 1];
  return {
    key,
    label: key,
    parameters: 1000,
    epochs: seconds.map((s, i) => ({ epoch: i + 1, trainLoss: opts.trainLoss ?? 1, trainAccuracy: 0.5, testLoss: 1, testAccuracy: correct / n, seconds: s, imagesPerSecond: 100 / s, lr: 1e-3 })),
    trainSeconds: seconds.reduce((a, b) => a + b, 0),
    wallSeconds: seconds.reduce((a, b) => a + b, 0),
    trainCount: opts.trainCount ?? 100,
    testCount: n,
    batchSize: 32,
    classes: opts.classes ?? 10,
    extra: {},
  };
}

function result(id: string, runs: RunSummary[], metrics: Record<string, unknown> = {}, status: ExperimentResult['status'] = 'done'): ExperimentResult {
  return { id, number: Number(id.slice(0, 2)), title: id, status, settings: [], runs, tables: [], figures: [], blocks: [], analysis: [], headline: [], metrics, seconds: 1 };
}

const answer = (question: RegExp, ...es: ExperimentResult[]) => {
  const c = conclusions({ experiments: es }).find((x) => question.test(x.question));
  if (!c) throw new Error(`no question matches ${question}`);
  return c;
};

describe('conclusions', () => {
  it('asks every question of an experiment the lab has', () => {
    const ids = experiments.map((e) => e.id);
    for (const q of QUESTIONS) expect(ids, q.question).toContain(q.experiment);
  });

  it('CNN against MLP: supported, not supported or undecided by the two-proportion rule', () => {
    const cnnVsMlp = (cnn: number, mlp: number, n = 300) => answer(/CNN is more accurate than the MLP/, result('05-mlp-vs-cnn', [runOf('mlp', mlp, n), runOf('cnn', cnn, n)]));
    expect(cnnVsMlp(180, 120).verdict).toBe('supported');
    expect(cnnVsMlp(120, 180).verdict).toBe('not supported');
    const tie = cnnVsMlp(100, 95);
    expect(tie.verdict).toBe('undecided');
    expect(tie.evidence).toMatch(/cannot tell them apart/);
    const chance = cnnVsMlp(5, 5, 50);
    expect(chance.verdict).toBe('undecided');
    expect(chance.evidence).toMatch(/chance level/);
  });

  it('hyper-parameters: a single-run difference counts only beyond the seed-to-seed spread', () => {
    const n = 1000;
    const sweeps = [{ name: 'layer count (conv blocks)', values: [1, 3], keys: ['n1', 'n3'] }];
    const exp3 = (n3: number, n1: number, spread?: number) =>
      result('03-hyperparameters', [runOf('n1', n1, n), runOf('n3', n3, n)], { sweeps, ...(spread === undefined ? {} : { seedSpread: { keys: [], testAccuracy: [0.42, 0.42 + spread], spread } }) });
    // 48 % against 40 %: beyond the test noise; within a 10-point seed spread it is undecided
    expect(answer(/Three conv blocks/, exp3(480, 400)).verdict).toBe('supported');
    expect(answer(/Three conv blocks/, exp3(480, 400, 0.04)).verdict).toBe('supported');
    const within = answer(/Three conv blocks/, exp3(480, 400, 0.1));
    expect(within.verdict).toBe('undecided');
    expect(within.evidence).toMatch(/moved 10\.0 points between seeds/);
    const sweep = answer(/change the test accuracy/, exp3(480, 400, 0.1));
    expect(sweep.verdict).toBe('undecided');
    expect(sweep.evidence).toMatch(/beyond the test noise but within the seed spread/);
    expect(answer(/change the test accuracy/, exp3(480, 400, 0.04)).verdict).toBe('supported');
  });

  it('speed: decided only when the per-epoch ranges do not overlap', () => {
    const speed = (hand: number[], lib: number[]) =>
      answer(/faster than the hand-written/, result('02-cifar-handwritten', [runOf('handwritten-n1', 5, 20, { seconds: hand }), runOf('library-n1', 5, 20, { seconds: lib })], { secondsPerFullEpoch: { 'handwritten-n1': { seconds: 5000 }, 'library-n1': { seconds: 250 } } }));
    const fast = speed([10, 11], [0.5, 0.6]);
    expect(fast.verdict).toBe('supported');
    expect(fast.evidence).toMatch(/16\.7× faster/);
    expect(fast.evidence).toMatch(/1 h 23 min by hand \(extrapolated\)/);
    expect(speed([1, 2], [1.5, 1.8]).verdict).toBe('undecided');
    expect(speed([0.5], [1]).verdict).toBe('not supported');
  });

  it('vehicles: every class above chance, or a class below it', () => {
    const vehicles = (matrix: number[][]) => answer(/car, minibus and truck/, result('08-vehicles', [], { confusion: { classes: ['car', 'minibus', 'truck'], matrix } }));
    expect(vehicles([[50, 5, 5], [5, 50, 5], [5, 5, 50]]).verdict).toBe('supported');
    const bad = vehicles([[60, 0, 0], [58, 1, 1], [10, 0, 50]]);
    expect(bad.verdict).toBe('not supported');
    expect(bad.evidence).toMatch(/below chance: minibus/);
    expect(vehicles([[4, 1, 1], [2, 2, 2], [1, 1, 4]]).verdict).toBe('undecided');
  });

  it('dehazing: the per-image gain interval against zero', () => {
    const dehaze = (psnr: number[]) => answer(/improves PSNR/, result('09-dehaze', [], { quality: { gain: { psnr: meanInterval(psnr), ssim: meanInterval([0.01, 0.02]) } } }));
    const better = dehaze([4, 5, 4.5, 6, 5.5]);
    expect(better.verdict).toBe('supported');
    expect(better.evidence).toMatch(/\+5\.00 dB \(95 % CI \+4\.\d\d dB to \+5\.\d\d dB\)/);
    expect(dehaze([-1, 1, 0.5, -0.2]).verdict).toBe('undecided');
    expect(dehaze([-2, -3, -2.5]).verdict).toBe('not supported');
  });

  it('HDC: coverage is exact, accuracy goes by the rule', () => {
    const e = result('06-dilated', [runOf('hdc-1-2-5', 200, 300), runOf('ordinary-1-1-1', 195, 300), runOf('gridding-2-2-2', 120, 300)], {
      unreachedInWindow: { 'HDC [1, 2, 5]': { zero: 0, window: 289 }, 'gridding [2, 2, 2]': { zero: 120, window: 169 } },
    });
    expect(answer(/avoids gridding/, e).verdict).toBe('supported');
    expect(answer(/than the gridding stack/, e).verdict).toBe('supported');
    expect(answer(/than the ordinary stack/, e).verdict).toBe('undecided');
  });

  it('says "not run" for skipped, failed, unselected experiments and missing numbers', () => {
    const skipped = { ...result('08-vehicles', [], {}, 'skipped'), reason: 'vehicles/ not found', enable: 'put the photos in data/vehicles' };
    const c = answer(/car, minibus and truck/, skipped);
    expect(c.verdict).toBe('not run');
    expect(c.evidence).toMatch(/skipped: vehicles\/ not found\. To enable: `put the photos in data\/vehicles`/);
    expect(answer(/ResNet-18 trains better/, { ...result('07-resnet', [], {}, 'failed'), error: 'out of memory' }).evidence).toMatch(/failed: out of memory/);
    expect(answer(/ResNet-18 trains better/).evidence).toMatch(/not part of this run/);
    expect(answer(/ResNet-18 trains better/, result('07-resnet', [runOf('resnet18', 100, 200)])).evidence).toMatch(/cannot answer from this report: run 'plain18'/);
    const all = conclusions({ experiments: [] });
    expect(all).toHaveLength(QUESTIONS.length);
    expect(all.every((x) => x.verdict === 'not run')).toBe(true);
  });
});
