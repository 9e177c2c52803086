/**
 * A lab of one tiny experiment on synthetic images, run through the lab's real runner
 * (examples/lab/main.ts: report, checkpoints, --resume) in a child process by
 * test/lab-resume.test.ts. Two training runs of three epochs each, on a shuffled,
 * augmented loader, with dropout: everything a resume has to restore.
 *
 * WEBGRAD_KILL_AT=run:epoch:batch makes the process SIGKILL itself as that batch (1-based,
 * epoch 0-based) is about to be trained: batch 1 of epoch e is right after epoch e's
 * checkpoint, before anything else is saved. WEBGRAD_PAUSE_AT=run:epoch:batch instead prints
 * `paused pid=<pid>` there and waits (for a signal). File-system faults: ./fs-faults.ts.
 */
import './fs-faults';
import * as ds from '@webgrad/datasets';
import * as nn from '@webgrad/nn';
import * as wg from '@webgrad/tensor';
import type { Experiment } from '../../examples/lab/experiment';
import { runCli } from '../../examples/lab/main';
import { trainRun } from '../../examples/lab/train';

const killAt = process.env.WEBGRAD_KILL_AT?.split(':');
const pauseAt = process.env.WEBGRAD_PAUSE_AT?.split(':');
const at = (point: string[] | undefined, run: string, e: number, b: number) => !!point && point[0] === run && Number(point[1]) === e && Number(point[2]) === b;

/** 2 classes of 3×8×8 images: a bright top or bottom half, plus fixed pseudo-random noise. */
function syntheticSet(count: number, seed: number): ds.ImageSet {
  const images = new Uint8Array(count * 3 * 64);
  const labels = new Int32Array(count);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;
  for (let n = 0; n < count; n++) {
    labels[n] = n % 2;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 64; p++) images[(n * 3 + c) * 64 + p] = Math.min(255, ((p < 32) === (labels[n] === 0) ? 150 : 40) + Math.floor(rand() * 100));
  }
  return { images, labels, count, channels: 3, height: 8, width: 8, classes: ['top', 'bottom'], skipped: [] };
}

/** The loader's epochs, with the kill switch between batches. */
function killable(run: string, loader: ds.DataLoader): nn.BatchSource {
  return {
    length: loader.length,
    [Symbol.asyncIterator]: () => loader[Symbol.asyncIterator](),
    async *epoch(e: number) {
      let b = 0;
      for await (const batch of loader.epoch(e)) {
        b++;
        if (at(killAt, run, e, b)) process.kill(process.pid, 'SIGKILL');
        if (at(pauseAt, run, e, b)) {
          console.log(`paused pid=${process.pid}`);
          await new Promise(() => setInterval(() => {}, 1000));
        }
        yield batch;
      }
    },
  };
}

const tiny: Experiment = {
  id: '90-tiny',
  number: 90,
  title: 'tiny resumable training',
  short: 'tiny',
  summary: 'two short runs on synthetic images',
  async run(ctx) {
    const train = syntheticSet(40, 1);
    const test = syntheticSet(12, 2);
    const transforms = [ds.transforms.horizontalFlip(), ds.transforms.randomCrop(8, { padding: 1 })];
    for (const run of ['a', 'b']) {
      const model = new nn.Sequential(
        new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
        new nn.Flatten(), new nn.Dropout(0.3), new nn.Linear(64, 2),
      );
      const summary = await trainRun(ctx, {
        key: run,
        label: `run ${run}`,
        model,
        optimizer: new nn.Adam(model.parameters(), { lr: 0.01 }),
        train: killable(run, new ds.DataLoader(train, { batchSize: 6, shuffle: true, seed: ctx.seed, workers: 0, transforms })),
        test: new ds.DataLoader(test, { batchSize: 5, workers: 0 }),
        epochs: 3,
        batchSize: 6,
        trainCount: train.count,
        testCount: test.count,
      });
      const weights = await Promise.all(model.parameters().map((p) => p.data()));
      ctx.metric(`run ${run}`, {
        epochs: summary.epochs.map((e) => [e.trainLoss, e.trainAccuracy, e.testLoss, e.testAccuracy, e.lr]),
        weights: weights.map((w) => Array.from(w)),
        rngAfter: wg.getRngState(),
      });
    }
  },
};

await runCli([tiny], process.argv.slice(2), 'tiny-lab');
