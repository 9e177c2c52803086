/**
 * Leaving webgrad: the lab's vehicle classifier (experiment 8's model at its default size:
 * 3 × [Conv 3×3 → BatchNorm → ReLU → MaxPool 2] with 16/32/64 channels, 48×48 input, car /
 * minibus / truck) is trained here, or loaded from a checkpoint, then
 *   - exported as ONNX (nn.exportOnnx) and run in onnxruntime-node on the whole test set:
 *     the top-1 agreement with webgrad, and how long export + inference took next to one
 *     training epoch;
 *   - saved as a state dict with PyTorch's names (stateDict({ names: 'pytorch' })), which
 *     the PyTorch twin in simpleCnn's doc comment loads with load_state_dict(strict=True).
 *
 *   npx tsx examples/export.ts [--epochs N] [--checkpoint FILE] [--out DIR] [--folder DIR]
 *
 * --checkpoint takes a safetensors of this model with webgrad's names (saveSafetensors of its
 * stateDict(), or a lab checkpoint of experiment 8); without it the model trains for --epochs
 * (default 2) on the training photos.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { DataLoader, imageFolder, transforms, type ImageSet } from '@webgrad/datasets';
import { VEHICLE_CLASSES, dataRoots, findVehicles } from './lab/locate';

const SIZE = 48;
const MEAN = [0.5, 0.5, 0.5];
const STD = [0.25, 0.25, 0.25];
const BATCH = 32;

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '2' },
    checkpoint: { type: 'string' },
    out: { type: 'string', default: join('reports', 'export') },
    folder: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log('npx tsx examples/export.ts [--epochs N] [--checkpoint FILE] [--out DIR] [--folder DIR]');
  process.exit(0);
}
const epochs = Number(values.epochs);
if (!Number.isInteger(epochs) || epochs < 1) throw new Error(`export: --epochs must be a positive integer, got '${values.epochs}'`);
const folder = values.folder ?? findVehicles(dataRoots(undefined))?.path;
if (!folder) throw new Error('export: the vehicle photos were not found; pass --folder DIR (DIR/<class>/*.jpg) or put the lab data in ../shared/data');

/** The lab's normalisation, on a whole set at once: [N, 3, H, W] floats. */
function normalised(set: ImageSet): Float32Array {
  const plane = set.height * set.width;
  const x = new Float32Array(set.images.length);
  for (let i = 0; i < x.length; i++) {
    const c = Math.floor(i / plane) % set.channels;
    x[i] = (set.images[i] / 255 - MEAN[c]) / STD[c];
  }
  return x;
}

const argmaxRows = (scores: ArrayLike<number>, k: number) =>
  Array.from({ length: scores.length / k }, (_, i) => {
    let best = 0;
    for (let j = 1; j < k; j++) if (scores[i * k + j] > scores[i * k + best]) best = j;
    return best;
  });

await wg.useDevice('cpu');
const { train, test } = await imageFolder(folder, { size: SIZE, classes: values.folder ? undefined : VEHICLE_CLASSES, testPercent: 25 });
const classes = train.classes;
const model = nn.simpleCnn({ inputSize: SIZE, numClasses: classes.length, channels: [16, 32, 64] });
let epochSeconds: number | null = null;
if (values.checkpoint) {
  const { tensors } = await nn.loadSafetensors(values.checkpoint);
  // A lab checkpoint also holds the optimizer and the history: take the model's tensors.
  const own = Object.keys(model.stateDict());
  model.loadStateDict(Object.fromEntries(own.map((k) => [k, tensors[k] ?? tensors[`model.${k}`]]).filter(([, t]) => t)));
  console.log(`loaded ${values.checkpoint}`);
} else {
  console.log(`training the vehicle classifier on ${train.count} photos (${classes.join(' / ')}), ${epochs} epoch(s) …`);
  const loader = new DataLoader(train, { batchSize: BATCH, shuffle: true, transforms: [transforms.toTensor(), transforms.normalize(MEAN, STD)] });
  const history = await nn.fit(model, loader, { optimizer: new nn.Adam(model.parameters(), { lr: 1e-3 }), epochs, progress: 'lines' });
  await loader.close();
  epochSeconds = history.epochs[history.epochs.length - 1].seconds;
}
model.eval();

const x = normalised(test);
const n = test.count;
const shape = [n, 3, SIZE, SIZE];
mkdirSync(values.out!, { recursive: true });
const onnxPath = join(values.out!, 'vehicles.onnx');

// Export, load into onnxruntime, classify the whole test set: what leaving webgrad costs.
const t0 = performance.now();
const bytes = await nn.exportOnnx(model, { inputShape: [1, 3, SIZE, SIZE], path: onnxPath });
const tExport = performance.now();
const session = await ort.InferenceSession.create(bytes);
const tSession = performance.now();
const ortScores = new Float32Array(n * classes.length);
for (let i = 0; i < n; i += 64) {
  const m = Math.min(64, n - i);
  const per = 3 * SIZE * SIZE;
  const out = await session.run({ input: new ort.Tensor('float32', x.subarray(i * per, (i + m) * per), [m, 3, SIZE, SIZE]) });
  ortScores.set(out.output.data as Float32Array, i * classes.length);
}
const tRun = performance.now();

const ours = await wg.tidy(() => nn.forwardInBatches(model, wg.tensor(x, shape))).data();
const a = argmaxRows(ours, classes.length);
const b = argmaxRows(ortScores, classes.length);
const agree = a.filter((c, i) => c === b[i]).length;
let err = 0;
let scale = 0;
for (let i = 0; i < ours.length; i++) {
  err = Math.max(err, Math.abs(ours[i] - ortScores[i]));
  scale = Math.max(scale, Math.abs(ours[i]));
}
const accuracy = (p: number[]) => p.filter((c, i) => c === test.labels[i]).length / n;

const ptPath = join(values.out!, 'vehicles.pytorch.safetensors');
await nn.saveSafetensors(ptPath, model.stateDict({ names: 'pytorch' }), { classes: JSON.stringify(classes), input: `[N, 3, ${SIZE}, ${SIZE}], (x / 255 - 0.5) / 0.25` });

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
console.log(`\nwrote ${onnxPath} (${(bytes.length / 1024).toFixed(0)} KiB, opset 17, dynamic batch) and ${ptPath} (PyTorch's names)`);
console.log(`test set: ${n} photos`);
console.log(`top-1 agreement, webgrad vs onnxruntime: ${agree} / ${n} (${((100 * agree) / n).toFixed(1)} %); max difference ${(err / scale).toExponential(2)} of the scores' scale`);
console.log(`test accuracy: webgrad ${(100 * accuracy(a)).toFixed(1)} %, onnxruntime ${(100 * accuracy(b)).toFixed(1)} %`);
console.log(`export ${s(tExport - t0)} + onnxruntime session ${s(tSession - tExport)} + inference on ${n} photos ${s(tRun - tSession)} = ${s(tRun - t0)}`);
if (epochSeconds !== null) console.log(`one training epoch (${train.count} photos, batch ${BATCH}): ${epochSeconds.toFixed(2)} s → export + inference took ${((tRun - t0) / 1000 / epochSeconds).toFixed(2)} × an epoch`);
