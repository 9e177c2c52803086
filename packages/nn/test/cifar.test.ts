/**
 * The proof that the pieces add up: simpleCnn (2 blocks) trained on a few hundred real
 * CIFAR-10 images, read straight from ../shared/data, beats chance clearly on held-out images.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { existsSync } from 'node:fs';
import { cifarRoot, dataRoot, hasCifar, readCifar } from './helpers/cifar';
import { openWebGPU } from './helpers/webgpu';

const CLASSES = ['airplane', 'frog', 'truck'];
const CHANCE = 1 / CLASSES.length;

// Without the shared data (a clone away from ../shared) this proof is skipped, as the
// datasets package's real-data suite is; where the data folder exists, CIFAR-10 must be in it.
if (!hasCifar && existsSync(dataRoot)) throw new Error(`the data folder ${dataRoot} has no CIFAR-10 at ${cifarRoot}`);

function batches(data: { x: Float32Array; y: Int32Array }, size: number, device: string, order?: number[]): nn.Batch[] {
  const n = data.y.length;
  const idx = order ?? [...Array(n).keys()];
  const out: nn.Batch[] = [];
  for (let s = 0; s < n; s += size) {
    const pick = idx.slice(s, s + size);
    const x = new Float32Array(pick.length * 3072);
    pick.forEach((i, k) => x.set(data.x.subarray(i * 3072, (i + 1) * 3072), k * 3072));
    out.push({ x: wg.keep(wg.tensor(x, [pick.length, 3, 32, 32], { device })), y: wg.keep(wg.tensor(pick.map((i) => data.y[i]), [pick.length], { dtype: 'int32', device })) });
  }
  return out;
}

/** A fixed shuffle, so that every batch mixes the classes. */
function shuffled(n: number, seed: number): number[] {
  const order = [...Array(n).keys()];
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

async function trainAndTest(device: string, perClass: number, epochs: number, lr: number) {
  const train = readCifar('train', CLASSES, perClass);
  const test = readCifar('test', CLASSES, 50);
  wg.manualSeed(7);
  const model = nn.simpleCnn({ blocks: 2, channels: [16, 32], numClasses: CLASSES.length });
  if (device !== 'cpu') model.to(device);
  const optimizer = new nn.Adam(model.parameters(), { lr });
  const trainBatches = batches(train, 32, device, shuffled(train.y.length, 1));
  const testBatches = batches(test, 75, device);
  const lines: string[] = [];
  const history = await nn.fit(model, trainBatches, { optimizer, epochs, testData: testBatches, progress: 'lines', log: (l) => lines.push(l) });
  for (const b of [...trainBatches, ...testBatches]) {
    b.x.dispose();
    b.y.dispose();
  }
  model.dispose();
  return { history, lines };
}

describe.skipIf(!hasCifar)(`simpleCnn on real CIFAR-10 images (${CLASSES.join(', ')})${hasCifar ? '' : `: no ${cifarRoot}`}`, () => {
  it('cpu: 300 training images, 3 epochs, clearly above chance on 150 test images', async () => {
    const { history, lines } = await trainAndTest('cpu', 100, 3, 2e-3);
    console.log(lines.join('\n'));
    const last = history.epochs.at(-1)!;
    expect(last.testAccuracy!).toBeGreaterThan(CHANCE + 0.2);
    expect(history.trainLoss.at(-1)!).toBeLessThan(history.trainLoss[0]);
  });
});

const gpu = hasCifar ? await openWebGPU() : { ok: false, reason: 'no CIFAR-10' };
afterAll(() => wg.releaseWebGPU());

describe.skipIf(!gpu.ok)(`simpleCnn on real CIFAR-10 images on webgpu (${gpu.reason})`, () => {
  // On cpu these settings reach 73-77 % for seeds 7 and 8.
  it('webgpu: the same model on 180 images (lavapipe is slow), 4 epochs, above chance', async () => {
    const { history, lines } = await trainAndTest('webgpu', 60, 4, 1e-3);
    console.log(lines.join('\n'));
    expect(history.epochs.at(-1)!.testAccuracy!).toBeGreaterThan(CHANCE + 0.2);
  });
});
