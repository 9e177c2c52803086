/**
 * Inference from a saved checkpoint: a small CNN is trained once on an image folder
 * (the lab's car / minibus / truck photos by default) and saved; then a fresh model loads
 * the checkpoint and classifies image files, printing class names with probabilities.
 *
 *   npx tsx examples/predict.ts [image ...] [--folder DIR] [--checkpoint FILE] [--retrain]
 *
 * Without images it classifies the first test photo of each class. The checkpoint keeps
 * the class names and the input transforms in its metadata, so prediction needs nothing else.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { DataLoader, imageFolder, subsetImages, transforms, type ImageSet } from '@webgrad/datasets';
import { VEHICLE_CLASSES, dataRoots, findVehicles } from './lab/locate';

const SIZE = 32;
const MEAN = [0.5, 0.5, 0.5];
const STD = [0.25, 0.25, 0.25];
const TRAIN_PER_CLASS = 120;

/** What the checkpoint's metadata carries besides the weights. */
interface Meta {
  classes: string[];
  size: number;
  mean: number[];
  std: number[];
}

const makeModel = (classes: number) => nn.simpleCnn({ inputSize: SIZE, numClasses: classes, channels: [8, 16, 32] });

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    folder: { type: 'string' },
    checkpoint: { type: 'string', default: join('reports', 'predict', 'vehicles-cnn.safetensors') },
    retrain: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('npx tsx examples/predict.ts [image ...] [--folder DIR] [--checkpoint FILE] [--retrain]');
  process.exit(0);
}

const folder = values.folder ?? findVehicles(dataRoots(undefined))?.path;
const checkpoint = values.checkpoint!;

/** The first `n` images of each class. */
function firstPerClass(set: ImageSet, n: number): ImageSet {
  const seen = new Map<number, number>();
  const keep = [...set.labels.keys()].filter((i) => {
    const c = set.labels[i];
    seen.set(c, (seen.get(c) ?? 0) + 1);
    return seen.get(c)! <= n;
  });
  return subsetImages(set, keep);
}

async function train(): Promise<void> {
  if (!folder) throw new Error('predict: no image folder found; pass --folder DIR (DIR/<class>/*.jpg) or put the lab data in ../shared/data');
  const classes = values.folder ? undefined : VEHICLE_CLASSES;
  const { train: all } = await imageFolder(folder, { size: SIZE, classes, testPercent: 25 });
  const set = firstPerClass(all, TRAIN_PER_CLASS);
  console.log(`training on ${set.count} images of ${set.classes.join(', ')} from ${folder}`);
  const model = makeModel(set.classes.length);
  const loader = new DataLoader(set, {
    batchSize: 32,
    shuffle: true,
    transforms: [transforms.horizontalFlip(), transforms.toTensor(), transforms.normalize(MEAN, STD)],
  });
  await nn.fit(model, loader, { optimizer: new nn.Adam(model.parameters(), { lr: 2e-3 }), epochs: 4, progress: 'lines' });
  await loader.close();
  const meta: Meta = { classes: set.classes, size: SIZE, mean: MEAN, std: STD };
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dirname(checkpoint), { recursive: true });
  // Weights plus what prediction needs to know, in one safetensors file.
  await nn.saveSafetensors(checkpoint, model.stateDict(), { predict: JSON.stringify(meta) });
  console.log(`saved ${checkpoint}`);
}

async function predict(): Promise<void> {
  // A fresh model: everything it knows comes from the file.
  const { tensors, metadata } = await nn.loadSafetensors(checkpoint);
  if (!metadata.predict) throw new Error(`predict: ${checkpoint} has no 'predict' metadata (class names, input size); retrain with --retrain`);
  const meta = JSON.parse(metadata.predict) as Meta;
  const model = makeModel(meta.classes.length);
  model.loadStateDict(tensors);
  for (const t of Object.values(tensors)) t.dispose();
  console.log(String(model.summary([1, 3, meta.size, meta.size])));

  const preprocess = transforms.compose([transforms.resize(meta.size), transforms.toTensor(), transforms.normalize(meta.mean, meta.std)]);
  let images = positionals;
  if (images.length === 0) {
    if (!folder) throw new Error('predict: give image paths, or --folder DIR to take its test images');
    const { test } = await imageFolder(folder, { size: SIZE, classes: values.folder ? undefined : VEHICLE_CLASSES, testPercent: 25 });
    images = meta.classes.map((_, c) => test.files![test.labels.indexOf(c)]);
  }
  console.log('\ninput tensor of the first image (resized, normalised):');
  const x = preprocess.apply(images[0]);
  console.log(x);
  for (const image of images) {
    const top = await nn.classify(model, image, { classes: meta.classes, preprocess, topK: 3 });
    console.log(`\n${image}`);
    for (const p of top) console.log(`  ${p.label.padEnd(12)} ${(100 * p.probability).toFixed(1).padStart(5)} %`);
  }
}

await wg.useDevice('cpu');
if (values.retrain || !existsSync(checkpoint)) await train();
await predict();
