import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

/** Two separable classes of 8×8 images: bright top half or bright bottom half, plus noise. */
function toyBatches(batches: number, size: number, seed: number): nn.Batch[] {
  wg.manualSeed(seed);
  const out: nn.Batch[] = [];
  for (let b = 0; b < batches; b++) {
    const labels = Array.from({ length: size }, (_, i) => (i + b) % 2);
    const mask = new Float32Array(size * 3 * 64);
    labels.forEach((l, n) => {
      for (let c = 0; c < 3; c++) for (let p = 0; p < 64; p++) mask[(n * 3 + c) * 64 + p] = (p < 32) === (l === 0) ? 1 : 0;
    });
    const x = wg.tidy(() => wg.tensor(mask, [size, 3, 8, 8]).add(wg.randn([size, 3, 8, 8], { std: 0.5 })));
    out.push({ x: wg.keep(x), y: wg.keep(wg.tensor(labels, [size], { dtype: 'int32' })) });
  }
  return out;
}

const tinyNet = () =>
  new nn.Sequential(
    new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Dropout(0.2), new nn.Linear(64, 2),
  );

describe('fit and evaluate', () => {
  it('trains, reports per-epoch figures in a history, logs plain lines off a terminal, holds memory flat', async () => {
    const train = toyBatches(6, 16, 1);
    const test = toyBatches(2, 16, 2);
    wg.manualSeed(3);
    const model = tinyNet();
    const optimizer = new nn.Adam(model.parameters(), { lr: 0.01 });
    const scheduler = new nn.StepLR(optimizer, 2, 0.5);
    const lines: string[] = [];
    const memory: number[][] = [];
    const batchLosses: number[] = [];
    const history = await nn.fit(model, train, {
      optimizer, scheduler, epochs: 4, testData: test, progress: 'auto', log: (l) => lines.push(l),
      callbacks: {
        onBatchEnd: (b) => void batchLosses.push(b.loss),
        onEpochEnd: () => {
          const m = wg.memoryStats();
          memory.push([m.liveTensors, m.liveBuffers, m.bytes]);
        },
      },
    });
    expect(history.epochs).toHaveLength(4);
    expect(history.lr).toEqual([0.01, 0.01, 0.005, 0.005]);
    expect(batchLosses).toHaveLength(24);
    const last = history.epochs[3];
    expect(last.trainAccuracy).toBeGreaterThan(0.8);
    expect(last.testAccuracy).toBeGreaterThan(0.8);
    expect(history.trainLoss[3]).toBeLessThan(history.trainLoss[0]);
    expect(last.seconds).toBeGreaterThan(0);
    expect(last.imagesPerSecond).toBeGreaterThan(0);
    expect(history.testLoss.every((v) => v !== null)).toBe(true);
    // stderr is not a terminal under vitest: one plain line per epoch.
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^epoch 1\/4 {2}train loss \d\.\d{4} acc \d+\.\d% {2}test loss \d\.\d{4} acc \d+\.\d% {2}[\d.]+ s {2}\d+ img\/s {2}lr 0\.01$/);
    // The arrays of batches are reused, so fit must not have disposed them.
    expect(train[0].x.isDisposed).toBe(false);
    // Optimizer state appears in epoch 1; from then on nothing grows.
    expect(memory[2]).toEqual(memory[1]);
    expect(memory[3]).toEqual(memory[1]);

    const ev = await nn.evaluate(model, test);
    expect(ev.count).toBe(32);
    expect(ev.accuracy).toBe(last.testAccuracy);
    expect(model.training).toBe(true);
  });

  it('regression losses report no accuracy; onEpochEnd returning false stops; loaders yield fresh batches that fit disposes', async () => {
    wg.manualSeed(4);
    const model = new nn.Sequential(new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.ReLU(), new nn.Conv2d(4, 3, 3, { padding: 1 }));
    const made: wg.Tensor[] = [];
    const loader = {
      length: 2,
      *[Symbol.iterator]() {
        for (let i = 0; i < 2; i++) {
          const x = wg.rand([2, 3, 8, 8]);
          const y = x.mul(0.5);
          made.push(x, y);
          yield [x, y] as const;
        }
      },
    };
    const history = await nn.fit(model, loader, {
      optimizer: new nn.SGD(model.parameters(), { lr: 0.01 }), epochs: 5, loss: nn.F.mseLoss, progress: 'none',
      callbacks: { onEpochEnd: (r) => r.epoch < 2 },
    });
    expect(history.epochs).toHaveLength(2);
    expect(history.trainAccuracy).toEqual([null, null]);
    expect(history.testLoss).toEqual([null, null]);
    expect(made.every((t) => t.isDisposed)).toBe(true);
  });

  for (const kind of ['sgd', 'adam'] as const) {
    it(`resuming from a checkpoint continues bit-for-bit (${kind}, scheduler, dropout, BatchNorm)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'webgrad-resume-'));
      const path = join(dir, 'ckpt.safetensors');
      const data = toyBatches(3, 8, 10);
      const setup = (seed: number) => {
        wg.manualSeed(seed);
        const model = tinyNet();
        const optimizer =
          kind === 'sgd'
            ? new nn.SGD(model.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 })
            : new nn.AdamW(model.parameters(), { lr: 0.01 });
        const scheduler = kind === 'sgd' ? new nn.StepLR(optimizer, 1, 0.7) : new nn.CosineAnnealingLR(optimizer, 3);
        return { model, optimizer, scheduler };
      };
      // Straight through: 2 epochs (checkpointed), then 2 more.
      const a = setup(11);
      const train = (o: ReturnType<typeof setup>) => ({ optimizer: o.optimizer, scheduler: o.scheduler, progress: 'none' as const });
      const first = await nn.fit(a.model, data, { ...train(a), epochs: 2, checkpoint: { path } });
      const straight = await nn.fit(a.model, data, { ...train(a), epochs: 4, startEpoch: 2, history: first });
      // Interrupted: new objects from another seed, restored from the checkpoint.
      const b = setup(99);
      wg.manualSeed(12345);
      const ck = await nn.loadCheckpoint(path, { model: b.model, optimizer: b.optimizer, scheduler: b.scheduler });
      expect(ck.epoch).toBe(2);
      expect(ck.history.epochs).toHaveLength(2);
      const resumed = await nn.fit(b.model, data, { ...train(b), epochs: 4, startEpoch: ck.epoch, history: ck.history });
      const sa = a.model.stateDict();
      const sb = b.model.stateDict();
      for (const k of Object.keys(sa)) expect(Array.from(sb[k].dataSync()), k).toEqual(Array.from(sa[k].dataSync()));
      expect(resumed.trainLoss).toEqual(straight.trainLoss);
      expect(resumed.testLoss).toEqual(straight.testLoss);
      expect(resumed.lr).toEqual(straight.lr);
      expect(b.scheduler.getLastLr()).toEqual(a.scheduler.getLastLr());
    });
  }
});

describe('fit and numbered epochs', () => {
  it('asks a source that numbers its epochs for the epoch it is in, from startEpoch on', async () => {
    const data = toyBatches(2, 4, 5);
    const asked: number[] = [];
    const source: nn.BatchSource = {
      length: 2,
      [Symbol.iterator]: () => data[Symbol.iterator](),
      epoch(e: number) {
        asked.push(e);
        return data;
      },
    };
    wg.manualSeed(1);
    const model = tinyNet();
    await nn.fit(model, source, { optimizer: new nn.SGD(model.parameters(), { lr: 0.01 }), epochs: 4, startEpoch: 2, progress: 'none', disposeBatches: false });
    expect(asked).toEqual([2, 3]);
  });

  it('traces the step by default: the same history as jit: false, bit for bit; a step that reads a value trains on eagerly, with a warning', async () => {
    const run = async (opts: Partial<nn.FitOptions>) => {
      const train = toyBatches(5, 8, 4);
      wg.manualSeed(9);
      const model = tinyNet();
      const optimizer = new nn.Adam(model.parameters(), { lr: 0.01 });
      const scheduler = new nn.StepLR(optimizer, 1, 0.5);
      const lines: string[] = [];
      const losses: number[] = [];
      const history = await nn.fit(model, train, {
        optimizer, scheduler, epochs: 3, progress: 'none', log: (l) => lines.push(l),
        callbacks: { onBatchEnd: (b) => void losses.push(b.loss) }, ...opts,
      });
      const weights = [...model.parameters()[0].dataSync()];
      for (const b of train) for (const t of [b.x, b.y]) t.dispose();
      optimizer.dispose();
      model.dispose();
      return { losses, accuracy: history.epochs.map((e) => e.trainAccuracy), weights, lines };
    };
    const eager = await run({ jit: false });
    const traced = await run({});
    expect(traced.losses).toEqual(eager.losses);
    expect(traced.accuracy).toEqual(eager.accuracy);
    expect(traced.weights).toEqual(eager.weights);
    // A loss that reads the logits' values: the trace refuses it, fit says so once and goes on.
    const reading = await run({ loss: (o, t) => (o.dataSync()[0] > 1e9 ? o.sum() : wg.crossEntropy(o, t)) });
    expect(reading.lines.filter((l) => l.includes('cannot be traced'))).toHaveLength(1);
    expect(reading.lines[0]).toMatch(/^fit: warning: the training step cannot be traced, so this run trains without jit .*reads a tensor.s values with dataSync\(\)/);
    expect(reading.losses).toHaveLength(eager.losses.length);
  });
});
