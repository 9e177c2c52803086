/**
 * The playground's training, shared by the page and by the Node test that checks the page
 * against Node: the data format the server sends, the model, the batches and one step.
 * Browser-safe: @webgrad/tensor and @webgrad/nn only.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

/** What /data/meta.json says about the images in /data/images.bin. */
export interface DataMeta {
  /** e.g. 'CIFAR-10'. */
  name: string;
  /** Where it came from, or why a fallback was taken (said on the page). */
  source: string;
  fallback: string | null;
  classes: string[];
  channels: number;
  height: number;
  width: number;
  trainCount: number;
  testCount: number;
}

/** /data/images.bin: the train then the test pixels (bytes, planar [n, c, h, w]), then one label byte per image. */
export interface ImageData8 {
  meta: DataMeta;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export function encodeImages(d: ImageData8): Uint8Array {
  const out = new Uint8Array(d.pixels.length + d.labels.length);
  out.set(d.pixels, 0);
  out.set(d.labels, d.pixels.length);
  return out;
}

export function decodeImages(meta: DataMeta, bytes: Uint8Array): ImageData8 {
  const n = meta.trainCount + meta.testCount;
  const size = meta.channels * meta.height * meta.width;
  if (bytes.length !== n * (size + 1)) throw new Error(`images.bin: ${bytes.length} bytes, expected ${n * (size + 1)} for ${n} images of ${meta.channels}×${meta.height}×${meta.width}`);
  return { meta, pixels: bytes.subarray(0, n * size), labels: bytes.subarray(n * size) };
}

/**
 * The models of the lab the page trains (LAB.md §2–§4), each with what its size numbers
 * mean and their default: one declaration that the picker, the size field and buildModel
 * all read.
 */
export const MODEL_KINDS = {
  cnn: { label: "the lab's CNN (N blocks: conv → BatchNorm → ReLU → max-pool)", sizes: 'channels per block (N numbers)', default: [16, 32, 64] },
  mlp: { label: 'MLP (fully connected)', sizes: 'hidden layer sizes', default: [256, 128] },
  hdc: { label: 'dilated CNN, HDC rates [1, 2, 5]', sizes: 'channels per layer (1 or 3 numbers)', default: [16, 32, 64], dilations: [1, 2, 5] },
  gridding: { label: 'dilated CNN, gridding rates [2, 2, 2]', sizes: 'channels per layer (1 or 3 numbers)', default: [16, 32, 64], dilations: [2, 2, 2] },
  ordinary: { label: 'CNN, ordinary rates [1, 1, 1]', sizes: 'channels per layer (1 or 3 numbers)', default: [16, 32, 64], dilations: [1, 1, 1] },
  resnet18: { label: 'ResNet-18 (small width)', sizes: 'width w (stages w, 2w, 4w, 8w)', default: [4] },
  plain18: { label: "ResNet-18's plain twin (no shortcuts)", sizes: 'width w (stages w, 2w, 4w, 8w)', default: [4] },
} as const satisfies Record<string, { label: string; sizes: string; default: readonly number[]; dilations?: readonly number[] }>;

export type ModelKind = keyof typeof MODEL_KINDS;

export interface TrainConfig {
  model: ModelKind;
  /** The model's size numbers, as MODEL_KINDS[model].sizes says: channels, hidden sizes or width. */
  sizes: number[];
  batchSize: number;
  lr: number;
  seed: number;
}

export const DEFAULT_CONFIG: TrainConfig = { model: 'cnn', sizes: [16, 32, 64], batchSize: 32, lr: 0.003, seed: 0 };

/** The chosen model, its weights drawn from `seed`, on the default device; bad sizes get an error naming the model. */
export function buildModel(meta: DataMeta, cfg: TrainConfig): nn.Module {
  const kind = MODEL_KINDS[cfg.model];
  if (!kind) throw new Error(`unknown model '${cfg.model}'; known: ${Object.keys(MODEL_KINDS).join(', ')}`);
  const { sizes } = cfg;
  if (!sizes.length || sizes.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`${kind.label}: ${kind.sizes} must be positive integers, got [${sizes}]`);
  const common = { inChannels: meta.channels, numClasses: meta.classes.length };
  wg.manualSeed(cfg.seed);
  switch (cfg.model) {
    case 'cnn':
      return nn.simpleCnn({ ...common, blocks: sizes.length, channels: sizes, inputSize: [meta.height, meta.width] });
    case 'mlp':
      return nn.mlp({ sizes: [meta.channels * meta.height * meta.width, ...sizes, meta.classes.length] });
    case 'hdc':
    case 'gridding':
    case 'ordinary': {
      const { dilations } = MODEL_KINDS[cfg.model];
      if (sizes.length !== 1 && sizes.length !== dilations.length) throw new Error(`${kind.label}: give 1 or ${dilations.length} channel numbers, got [${sizes}]`);
      if (meta.height !== meta.width) throw new Error(`${kind.label}: needs square images, got ${meta.height}×${meta.width}`);
      return nn.dilatedCnn({ ...common, dilations: [...dilations], channels: sizes.length === 1 ? sizes[0] : sizes, inputSize: meta.height });
    }
    case 'resnet18':
    case 'plain18': {
      if (sizes.length !== 1) throw new Error(`${kind.label}: give one width, got [${sizes}]`);
      return (cfg.model === 'resnet18' ? nn.resnet18 : nn.plainNet18)({ ...common, width: sizes[0] });
    }
  }
}

/** The lab's normalisation: pixels to [0, 1], then (x − 0.5) / 0.25. */
export function normalise(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = (bytes[i] / 255 - 0.5) / 0.25;
  return out;
}

/** Images `indices` (0-based, train first then test) as an input batch and int32 labels on `device`. */
export function batchOf(d: ImageData8, indices: readonly number[], device: string): { x: wg.Tensor; y: wg.Tensor } {
  const { channels: c, height: h, width: w } = d.meta;
  const size = c * h * w;
  const bytes = new Uint8Array(indices.length * size);
  indices.forEach((i, k) => bytes.set(d.pixels.subarray(i * size, (i + 1) * size), k * size));
  const x = wg.tensor(normalise(bytes), [indices.length, c, h, w], { device });
  const y = wg.tensor(Int32Array.from(indices, (i) => d.labels[i]), [indices.length], { dtype: 'int32', device });
  return { x, y };
}

/** A reproducible shuffle of 0..n−1 for one epoch (mulberry32 seeded by seed and epoch). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  let s = (seed * 0x9e3779b1 + epoch * 0x85ebca6b + 1) >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** One optimisation step of a batch; its loss and number of correct predictions, read back. */
export type Trainer = (x: wg.Tensor, y: wg.Tensor) => Promise<{ loss: number; correct: number }>;

/**
 * The training step of a model and its optimizer. With jit (the default) it is traced on
 * its second call and replayed after that, as nn.fit does: the same numbers, less JavaScript
 * per step; the page's `?jit=off` turns it off.
 */
export function trainer(model: nn.Module, optimizer: nn.Optimizer, opts: { jit?: boolean } = {}): Trainer {
  const step = wg.jit(
    (x: wg.Tensor, y: wg.Tensor) => {
      optimizer.zeroGrad();
      const out = model.forward(x);
      const loss = wg.crossEntropy(out, y);
      loss.backward();
      optimizer.step();
      return wg.cat([loss.detach().reshape([1]), out.argmax(1).eq(y).sum().float().reshape([1])]);
    },
    { enabled: opts.jit ?? true },
  );
  return async (x, y) => {
    const stats = wg.tidy(() => step(x, y));
    const [loss, correct] = await stats.data();
    stats.dispose();
    return { loss, correct };
  };
}

/** Logits of the model in eval mode for images `indices`, in batches, read back as [n, classes]. */
export async function predict(model: nn.Module, d: ImageData8, indices: readonly number[], device: string, batchSize = 100): Promise<Float32Array> {
  const k = d.meta.classes.length;
  const out = new Float32Array(indices.length * k);
  model.eval();
  try {
    for (let at = 0; at < indices.length; at += batchSize) {
      const part = indices.slice(at, at + batchSize);
      const { x, y } = batchOf(d, part, device);
      const logits = wg.noGrad(() => model.forward(x));
      out.set(await logits.data(), at * k);
      for (const t of [x, y, logits]) t.dispose();
    }
  } finally {
    model.train();
  }
  return out;
}
