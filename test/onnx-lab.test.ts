/**
 * Every model the lab trains (at the default preset's sizes) leaves webgrad through ONNX:
 * exported at random initialisation and after 3 training steps, run in onnxruntime-node on
 * the lab's own test images (1,000 CIFAR-10 test images; up to 1,000 vehicle photos; the
 * dehazing test scenes), and compared with webgrad's output: max error ≤ 1e-5 of the
 * output's scale, and the same top-1 class for every image. The export is also read back
 * with importOnnx and must give webgrad's output again (on 50 of the images).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import * as ds from '@webgrad/datasets';
import { MyConv2d, dehazeNet } from '../examples/lab/models';
import { dataRoot, hasCifar, readCifar } from '../packages/nn/test/helpers/cifar';
import { relativeError, runOrt, runWebgrad, session, top1 } from '../packages/nn/test/helpers/onnx';

const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const vehiclesRoot = join(dataRoot, 'vehicles');
const hazyRoot = join(dataRoot, 'dehaze', 'hazy');
const hasVehicles = existsSync(vehiclesRoot);
const hasDehaze = existsSync(hazyRoot);

interface Images {
  x: Float32Array;
  shape: number[];
  /** Labels of the 3-step training batch and its images. */
  train: { x: Float32Array; y: Int32Array; shape: number[] };
}

/** The lab's normalisation of classification inputs: (x / 255 − 0.5) / 0.25. */
const normalise = (pixels: Uint8Array) => Float32Array.from(pixels, (v) => (v / 255 - 0.5) / 0.25);

async function vehicles(size: number, classes: string[] | undefined, testCount: number): Promise<Images> {
  const listing = ds.listImageFolder(vehiclesRoot, { classes, testPercent: 25 });
  const perClass = Math.ceil(testCount / listing.classes.length);
  const pick = (test: boolean, n: number) =>
    listing.classes.flatMap((_, c) => listing.files.filter((_, i) => listing.labels[i] === c && listing.isTest[i] === test).slice(0, n).map((f) => [f, c] as const));
  const test = pick(true, perClass).slice(0, testCount);
  const train = pick(false, 8);
  const shape = { height: size, width: size, colour: 'rgb' as const };
  const [te, tr] = [await ds.decodeFiles(test.map(([f]) => f), shape), await ds.decodeFiles(train.map(([f]) => f), shape)];
  return {
    x: normalise(te.pixels),
    shape: [test.length, 3, size, size],
    train: { x: normalise(tr.pixels), y: Int32Array.from(train.map(([, c]) => c)), shape: [train.length, 3, size, size] },
  };
}

function cifar(): Images {
  const test = readCifar('test', CIFAR_CLASSES, 100);
  const train = readCifar('train', CIFAR_CLASSES, 3);
  return { x: test.x, shape: [1000, 3, 32, 32], train: { x: train.x, y: train.y, shape: [30, 3, 32, 32] } };
}

async function hazy(): Promise<Images> {
  // The test scenes: the last 20 % by scene number (10 of 50), every haze level, at the default preset's 64×48.
  const files = readdirSync(hazyRoot).sort(ds.naturalCompare).map((f) => join(hazyRoot, f));
  const shape = { height: 48, width: 64, colour: 'rgb' as const };
  const test = await ds.decodeFiles(files.slice(-100), shape);
  const train = await ds.decodeFiles(files.slice(0, 8), shape);
  const scale = (p: Uint8Array) => Float32Array.from(p, (v) => v / 255);
  return { x: scale(test.pixels), shape: [100, 3, 48, 64], train: { x: scale(train.pixels), y: new Int32Array(0), shape: [8, 3, 48, 64] } };
}

/** Three optimizer steps (Adam, lr 1e-3; the dehazing net: L1 against the input itself, any target moves the weights). */
function train3(model: nn.Module, data: Images['train'], classify: boolean): void {
  const opt = new nn.Adam(model.parameters(), { lr: 1e-3 });
  model.train();
  const x = wg.tensor(data.x, data.shape);
  const y = classify ? wg.tensor(data.y, [data.y.length], { dtype: 'int32' }) : null;
  for (let i = 0; i < 3; i++) {
    wg.tidy(() => {
      const out = model.forward(x);
      const loss = y ? wg.crossEntropy(out, y) : wg.l1Loss(out, x.mul(0.9));
      opt.zeroGrad();
      loss.backward();
      opt.step();
    });
  }
  x.dispose();
  y?.dispose();
  model.eval();
}

type Data = 'cifar' | 'vehicles48' | 'vehicles100' | 'dehaze';
interface LabModel {
  name: string;
  data: Data;
  make: () => nn.Module;
  classes: number;
  /** Test images used (default all that were loaded): the hand-written convolution's own lab run tests on 200. */
  images?: number;
}

// The default preset's models of each experiment (examples/0N-*.ts).
const LAB_MODELS: LabModel[] = [
  { name: 'exp 2: hand-written convolution CNN (MyConv2d, 1 block of 16), on 200 images as in the lab', data: 'cifar', classes: 10, images: 200, make: () => nn.simpleCnn({ blocks: 1, channels: 16, conv: (cin, cout, k, o) => new MyConv2d(cin, cout, k, o) }) },
  { name: 'exp 2: simpleCnn, 1 block of 16', data: 'cifar', classes: 10, make: () => nn.simpleCnn({ blocks: 1, channels: 16 }) },
  { name: 'exp 2/3/5: simpleCnn, 3 blocks of 16/32/64', data: 'cifar', classes: 10, make: () => nn.simpleCnn({ channels: [16, 32, 64] }) },
  { name: 'exp 3: simpleCnn, 2 blocks, 5×5 kernels', data: 'cifar', classes: 10, make: () => nn.simpleCnn({ blocks: 2, channels: [16, 32], kernelSize: 5 }) },
  { name: 'exp 4: AlexNet, original layout at 100×100, widths × 1/8', data: 'vehicles100', classes: 6, make: () => nn.alexnet({ inputSize: 100, variant: 'original', width: 1 / 8, numClasses: 6 }) },
  { name: 'exp 5: MLP 3072-256-128-10', data: 'cifar', classes: 10, make: () => nn.mlp({ sizes: [3072, 256, 128, 10] }) },
  { name: 'exp 6: dilatedCnn [1, 2, 5] (HDC)', data: 'cifar', classes: 10, make: () => nn.dilatedCnn({ dilations: [1, 2, 5], channels: [16, 32, 64] }) },
  { name: 'exp 6: dilatedCnn [2, 2, 2] (gridding)', data: 'cifar', classes: 10, make: () => nn.dilatedCnn({ dilations: [2, 2, 2], channels: [16, 32, 64] }) },
  { name: 'exp 7: ResNet-18, width 4', data: 'cifar', classes: 10, make: () => nn.resnet18({ width: 4 }) },
  { name: 'exp 7: plain 18-layer, width 4', data: 'cifar', classes: 10, make: () => nn.plainNet18({ width: 4 }) },
  { name: 'exp 7: residual + dilated, width 4', data: 'cifar', classes: 10, make: () => nn.dilatedResNet({ width: 4 }) },
  { name: 'exp 8: the vehicle classifier (simpleCnn at 48×48, 16/32/64, 3 classes)', data: 'vehicles48', classes: 3, make: () => nn.simpleCnn({ inputSize: 48, numClasses: 3, channels: [16, 32, 64] }) },
  { name: 'exp 9: the dehazing net (12 channels, global residual)', data: 'dehaze', classes: 0, make: () => dehazeNet({ channels: 12 }) },
];

function subset(images: Images, n: number): Images {
  const per = images.shape.slice(1).reduce((a, b) => a * b, 1);
  const step = Math.floor(images.shape[0] / n);
  const x = new Float32Array(n * per);
  for (let i = 0; i < n; i++) x.set(images.x.subarray(i * step * per, (i * step + 1) * per), i * per);
  return { ...images, x, shape: [n, ...images.shape.slice(1)] };
}

const available: Record<Data, boolean> = { cifar: hasCifar, vehicles48: hasVehicles, vehicles100: hasVehicles, dehaze: hasDehaze };
const data: Partial<Record<Data, Images>> = {};

describe.skipIf(!hasCifar || !hasVehicles || !hasDehaze)('every lab model round-trips through ONNX on its test images', () => {
  beforeAll(async () => {
    data.cifar = cifar();
    data.vehicles48 = await vehicles(48, ['car', 'minibus', 'truck'], 1000);
    data.vehicles100 = await vehicles(100, undefined, 1000);
    data.dehaze = await hazy();
  }, 300_000);

  it.each(LAB_MODELS)('$name', async ({ data: which, make, classes, images: count }) => {
    expect(available[which]).toBe(true);
    const all = data[which]!;
    // CIFAR's 1,000 come 100 per class in class order: every 5th keeps the classes balanced.
    const images = count ? subset(all, count) : all;
    wg.manualSeed(21);
    const model = make();
    for (const stage of ['random init', 'after 3 training steps']) {
      if (stage !== 'random init') train3(model, images.train, classes > 0);
      const bytes = await nn.exportOnnx(model, { inputShape: [1, ...images.shape.slice(1)] });
      const ours = await runWebgrad(model, images.x, images.shape);
      const theirs = await runOrt(await session(bytes), images.x, images.shape);
      const err = relativeError(theirs, ours);
      expect(err, `${stage}: onnxruntime against webgrad`).toBeLessThanOrEqual(1e-5);
      // The import runs webgrad's own kernels again: 50 images show it (the suite's time goes to the 1,000 above).
      const few = subset(images, 50);
      const back = await runWebgrad(await nn.importOnnx(bytes), few.x, few.shape);
      expect(relativeError(back, await runWebgrad(model, few.x, few.shape)), `${stage}: importOnnx against webgrad`).toBeLessThanOrEqual(1e-5);
      if (classes) {
        const a = top1(ours, classes);
        const b = top1(theirs, classes);
        expect(a.length).toBe(images.shape[0]);
        expect(b.filter((c, i) => c !== a[i]).length, `${stage}: images whose top-1 differs`).toBe(0);
      }
      console.log(`${stage}: ${images.shape[0]} images, max error ${err.toExponential(2)} of the output's scale${classes ? ', top-1 identical' : ''}, ${(bytes.length / 1024).toFixed(0)} KiB`);
    }
    model.dispose();
  });
});
