import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

/** Four batches of 8 points in 4 dims, two classes. */
function batches(seed: number, poison?: { batch: number; value: number }): nn.Batch[] {
  wg.manualSeed(seed);
  return Array.from({ length: 4 }, (_, b) => {
    const x = wg.randn([8, 4]).dataSync().slice();
    if (poison?.batch === b) x[5] = poison.value;
    return { x: wg.tensor(x, [8, 4]), y: wg.tensor([0, 1, 0, 1, 0, 1, 0, 1], [8], { dtype: 'int32' }) };
  });
}

const net = () => {
  wg.manualSeed(7);
  return nn.mlp({ sizes: [4, 16, 2] });
};

async function divergence(opts: Partial<nn.FitOptions>, data: nn.TrainingData = batches(1), model = net()): Promise<nn.TrainingDivergedError> {
  const err = await nn
    .fit(model, data, { optimizer: new nn.SGD(model.parameters(), { lr: 0.1 }), epochs: 5, progress: 'none', ...opts })
    .then(() => null, (e: Error) => e);
  expect(err).toBeInstanceOf(nn.TrainingDivergedError);
  return err as nn.TrainingDivergedError;
}

describe('fit stops when training diverges, naming the epoch, the step and the parameter', () => {
  it('lr 1e6: a clear error, not NaN losses in the history', async () => {
    const model = net();
    const err = await divergence({ optimizer: new nn.SGD(model.parameters(), { lr: 1e6 }) }, batches(1), model);
    expect(err.message).toMatch(/^fit: training diverged at epoch \d+\/5, step \d+: the loss is (NaN|Infinity|-?[\d.e+]+)( and| but) the gradient of 1\.weight is not finite/);
    expect(err.message).toContain('Lower the learning rate (it is 1000000)');
    expect(err.parameter).toBe('1.weight');
    expect(err.epoch).toBeGreaterThanOrEqual(1);
    expect(err.step).toBeGreaterThanOrEqual(1);
  });

  it('an Inf in an input stops at that batch', async () => {
    const err = await divergence({}, batches(1, { batch: 2, value: Infinity }));
    expect(err.message).toMatch(/^fit: training diverged at epoch 1\/5, step 3: the loss is NaN and the gradient of 1\.weight is not finite \(the first of 4 parameters/);
    expect([err.epoch, err.step, err.parameter]).toEqual([1, 3, '1.weight']);
    expect(Number.isNaN(err.loss)).toBe(true);
  });

  it('a NaN in an input stops too, and the error names the last checkpoint this fit saved', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'webgrad-diverge-')), 'run.safetensors');
    // Epoch 1 trains on clean data and is saved; epoch 2 meets the NaN.
    const clean = batches(1);
    const poisoned = batches(1, { batch: 1, value: Number.NaN });
    const source: nn.BatchSource = { length: 4, [Symbol.iterator]: () => clean[Symbol.iterator](), epoch: (e: number) => (e === 0 ? clean : poisoned) };
    const err = await divergence({ checkpoint: { path }, disposeBatches: false }, source);
    expect([err.epoch, err.step]).toEqual([2, 2]);
    expect(err.message).toContain(`${path} (epoch 1) holds those of an earlier epoch`);
  });

  it("'warn' logs once per epoch and a count, and trains on; 'ignore' is silent", async () => {
    const lines: string[] = [];
    const model = net();
    const history = await nn.fit(model, batches(1, { batch: 0, value: Infinity }), {
      optimizer: new nn.SGD(model.parameters(), { lr: 0.1 }), epochs: 2, progress: 'lines', log: (l) => lines.push(l), onNonFinite: 'warn',
    });
    expect(history.epochs).toHaveLength(2);
    const warnings = lines.filter((l) => l.startsWith('fit: warning'));
    expect(warnings[0]).toMatch(/^fit: warning: training diverged at epoch 1\/2, step 1: the loss is NaN and the gradient of 1\.weight is not finite/);
    // After the NaN step the weights are NaN: every later step of the epoch is non-finite too.
    expect(warnings).toContain('fit: warning: 4 of the 4 steps of epoch 1 had a NaN or infinite loss or gradient');
    expect(warnings).toHaveLength(4);
    const quiet: string[] = [];
    const m2 = net();
    const h2 = await nn.fit(m2, batches(1, { batch: 0, value: Infinity }), {
      optimizer: new nn.SGD(m2.parameters(), { lr: 0.1 }), epochs: 1, progress: 'lines', log: (l) => quiet.push(l), onNonFinite: 'ignore',
    });
    expect(Number.isNaN(h2.trainLoss[0])).toBe(true);
    expect(quiet.filter((l) => l.includes('warning'))).toEqual([]);
  });

  it('costs no extra device read per step: one read per step, checks included', async () => {
    const model = net();
    const data = batches(1);
    const reads = vi.spyOn(wg.Tensor.prototype, 'data');
    await nn.fit(model, data, { optimizer: new nn.SGD(model.parameters(), { lr: 0.1 }), epochs: 2, progress: 'none' });
    expect(reads).toHaveBeenCalledTimes(8);
    reads.mockRestore();
  });

  it('a finite run is not disturbed: same losses with the check on and off', async () => {
    const run = async (onNonFinite: 'stop' | 'ignore') => {
      const model = net();
      wg.manualSeed(3);
      return (await nn.fit(model, batches(1), { optimizer: new nn.Adam(model.parameters(), { lr: 0.01 }), epochs: 2, progress: 'none', onNonFinite })).trainLoss;
    };
    expect(await run('stop')).toEqual(await run('ignore'));
  });
});

describe("fit's options are checked before anything runs", () => {
  const model = new nn.Linear(4, 2);
  const optimizer = new nn.SGD(model.parameters(), { lr: 0.1 });
  const cases: [string, Partial<nn.FitOptions>, string][] = [
    ['epochs NaN', { epochs: Number.NaN }, 'fit: epochs must be a non-negative integer, got NaN'],
    ['epochs 2.5', { epochs: 2.5 }, 'fit: epochs must be a non-negative integer, got 2.5'],
    ['epochs -1', { epochs: -1 }, 'fit: epochs must be a non-negative integer, got -1'],
    ['epochs "3"', { epochs: '3' as never }, "fit: epochs must be a non-negative integer, got '3'"],
    ['startEpoch NaN', { startEpoch: Number.NaN }, 'fit: startEpoch must be a non-negative integer, got NaN'],
    ['clipGradNorm NaN', { clipGradNorm: Number.NaN }, 'fit: clipGradNorm must be a non-negative number, got NaN'],
    ['checkpoint.every 0', { checkpoint: { path: '/tmp/x', every: 0 } }, 'fit: checkpoint.every must be a positive integer, got 0'],
    ['onNonFinite', { onNonFinite: 'skip' as never }, "fit: onNonFinite must be one of 'stop', 'warn', 'ignore', got 'skip'"],
    ['progress', { progress: 'bars' as never }, "fit: progress must be one of 'auto', 'bar', 'lines', 'none', got 'bars'"],
    ['no optimizer', { optimizer: undefined }, 'fit: optimizer must be an Optimizer'],
  ];
  for (const [name, opts, message] of cases) {
    it(name, async () => {
      await expect(nn.fit(model, batches(1), { optimizer, epochs: 1, progress: 'none', ...opts } as nn.FitOptions)).rejects.toThrow(message);
    });
  }
});
