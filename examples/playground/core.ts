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

export interface TrainConfig {
  /** Channels of the lab's CNN blocks (Conv → BatchNorm → ReLU → MaxPool each). */
  channels: number[];
  batchSize: number;
  lr: number;
  seed: number;
}

export const DEFAULT_CONFIG: TrainConfig = { channels: [16, 32, 64], batchSize: 32, lr: 0.003, seed: 0 };

/** The lab's CNN (nn.simpleCnn), its weights drawn from `seed`, on the default device. */
export function buildModel(meta: DataMeta, cfg: TrainConfig): nn.Module {
  wg.manualSeed(cfg.seed);
  return nn.simpleCnn({ blocks: cfg.channels.length, channels: cfg.channels, inChannels: meta.channels, inputSize: [meta.height, meta.width], numClasses: meta.classes.length });
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

/** One optimisation step; the loss and the number of correct predictions, read back. */
export async function trainStep(model: nn.Module, optimizer: nn.Optimizer, x: wg.Tensor, y: wg.Tensor): Promise<{ loss: number; correct: number }> {
  const stats = wg.tidy(() => {
    optimizer.zeroGrad();
    const out = model.forward(x);
    const loss = wg.crossEntropy(out, y);
    loss.backward();
    optimizer.step();
    return wg.cat([loss.detach().reshape([1]), out.argmax(1).eq(y).sum().float().reshape([1])]);
  });
  const [loss, correct] = await stats.data();
  stats.dispose();
  return { loss, correct };
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
