import { describe, expect, it } from 'vitest';
import { DataLoader, type Batch } from '../src/node';
import { sharedBytes, type ImageSet, type PairSet } from '../src/image-set';
import { compileTransforms, transforms } from '../src/transforms';

const C = 3;
const H = 5;
const W = 6;
const SIZE = C * H * W;

/** n images whose every pixel differs (so crops and flips can be recognised), label i % 4. */
function makeSet(n: number): ImageSet {
  const images = sharedBytes(n * SIZE);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7 + (i / SIZE) * 3) % 251;
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 4), count: n, channels: C, height: H, width: W, classes: ['a', 'b', 'c', 'd'], skipped: [] };
}

async function collect(loader: AsyncIterable<Batch>): Promise<{ x: Float32Array; y: Int32Array | Float32Array; shape: number[]; indices: number[]; yType: string }[]> {
  const out = [];
  for await (const b of loader) {
    out.push({ x: (await b.x.data()) as Float32Array, y: (await b.y.data()) as Int32Array, shape: b.x.shape, indices: [...b.indices], yType: b.y.dtype });
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

describe('DataLoader', () => {
  const set = makeSet(10);

  it('batches images as float32 [B, C, H, W] in [0, 1] and labels as int32 [B]', async () => {
    const batches = await collect(new DataLoader(set, { batchSize: 4, workers: 0 }));
    expect(batches.map((b) => b.shape)).toEqual([[4, C, H, W], [4, C, H, W], [2, C, H, W]]);
    expect(batches[2].indices).toEqual([8, 9]);
    expect(batches[1].yType).toBe('int32');
    expect([...batches[1].y]).toEqual([0, 1, 2, 3]);
    expect(batches[1].x[SIZE + 7]).toBeCloseTo(set.images[5 * SIZE + 7] / 255, 6);
    const dropped = new DataLoader(set, { batchSize: 4, dropLast: true, workers: 0 });
    expect(dropped.length).toBe(2);
    expect((await collect(dropped)).length).toBe(2);
  });

  it('shuffles with a seed: the same seed gives the same order, each epoch a new one, every image once', async () => {
    const a = new DataLoader(set, { batchSize: 3, shuffle: true, seed: 7, workers: 0 });
    const b = new DataLoader(set, { batchSize: 3, shuffle: true, seed: 7, workers: 0 });
    const e0 = (await collect(a)).flatMap((x) => x.indices);
    const e1 = (await collect(a)).flatMap((x) => x.indices);
    expect((await collect(b)).flatMap((x) => x.indices)).toEqual(e0);
    expect(e1).not.toEqual(e0);
    expect([...e0].sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const other = new DataLoader(set, { batchSize: 3, shuffle: true, seed: 8, workers: 0 });
    expect((await collect(other)).flatMap((x) => x.indices)).not.toEqual(e0);
  });

  it('normalises per channel', async () => {
    const mean = [0.1, 0.5, 0.9];
    const std = [0.2, 0.25, 0.5];
    const [first] = await collect(new DataLoader(set, { batchSize: 1, workers: 0, transforms: [transforms.toTensor(), transforms.normalize(mean, std)] }));
    for (let c = 0; c < C; c++) {
      const at = c * H * W + 4;
      expect(first.x[at]).toBeCloseTo((set.images[at] / 255 - mean[c]) / std[c], 5);
    }
  });

  it('crops a random window of the zero-padded image and flips it, differently per image', async () => {
    const loader = new DataLoader(set, { batchSize: 10, workers: 0, transforms: [transforms.randomCrop([H, W], { padding: 2 }), transforms.horizontalFlip()] });
    const [batch] = await collect(loader);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const got = batch.x.subarray(i * SIZE, (i + 1) * SIZE);
      const match = findWindow(set.images.subarray(i * SIZE, (i + 1) * SIZE), got, 2);
      expect(match, `image ${i} is no window of its padded source`).not.toBeNull();
      seen.add(match!);
    }
    expect(seen.size).toBeGreaterThan(3);
    expect([...seen].some((s) => s.endsWith('flip'))).toBe(true);
    expect([...seen].some((s) => s.endsWith('keep'))).toBe(true);
  });

  it('builds the same batches on worker threads as on this thread', async () => {
    const big = makeSet(300);
    const opts = { batchSize: 32, shuffle: true, seed: 3, transforms: [transforms.randomCrop(4, { padding: 1 }), transforms.horizontalFlip(), transforms.normalize([0.5], [0.25])] };
    const here = await collect(new DataLoader(big, { ...opts, workers: 0 }));
    const threaded = new DataLoader(big, { ...opts, workers: 2 });
    const there = await collect(threaded);
    await threaded.close();
    expect(there.map((b) => b.indices)).toEqual(here.map((b) => b.indices));
    there.forEach((b, i) => expect(Buffer.from(b.x.buffer).equals(Buffer.from(here[i].x.buffer))).toBe(true));
    expect(there[0].shape).toEqual([32, C, 4, 4]);
  });

  it('gives image-pair targets the same crop and flip as their inputs, without the normalisation', async () => {
    const inputs = makeSet(6).images;
    const pairs: PairSet = { inputs, targets: inputs, targetOf: Int32Array.from([0, 1, 2, 3, 4, 5]), count: 6, channels: C, height: H, width: W, scenes: ['s0', 's1', 's2', 's3', 's4', 's5'], skipped: [] };
    const loader = new DataLoader(pairs, { batchSize: 6, workers: 1, shuffle: true, transforms: [transforms.randomCrop(4, { padding: 1 }), transforms.horizontalFlip()] });
    const [batch] = await collect(loader);
    expect(batch.yType).toBe('float32');
    expect([...batch.y]).toEqual([...batch.x]);
    const normalised = await collect(new DataLoader(pairs, { batchSize: 6, workers: 0, transforms: [transforms.normalize([0.5], [0.5])] }));
    expect(normalised[0].y[0]).toBeCloseTo(inputs[0] / 255, 6);
    expect(normalised[0].x[0]).toBeCloseTo((inputs[0] / 255 - 0.5) / 0.5, 6);
  });

  it('stops cleanly when a loop breaks early', async () => {
    const loader = new DataLoader(makeSet(400), { batchSize: 8, workers: 1, prefetch: 3 });
    let n = 0;
    for await (const b of loader) {
      b.x.dispose();
      b.y.dispose();
      if (++n === 2) break;
    }
    expect(n).toBe(2);
    await loader.close();
  });

  it('rejects transforms that do not fit, naming the problem', () => {
    expect(() => compileTransforms([transforms.randomCrop(9, { padding: 1 })], C, H, W)).toThrow('transforms: randomCrop 9×9 does not fit a 5×6 image padded by 1');
    expect(() => compileTransforms([transforms.normalize([0.5, 0.5], [1, 1])], C, H, W)).toThrow('normalize mean has 2 values but the images have 3 channels');
    expect(() => compileTransforms([transforms.normalize([0], [1]), transforms.horizontalFlip()], C, H, W)).toThrow('horizontalFlip must come before toTensor and normalize');
    expect(() => new DataLoader(set, { batchSize: 0 })).toThrow('DataLoader: batchSize must be a positive integer, got 0');
  });
});

/** Which window of `src` zero-padded by `pad` (and whether mirrored) `got` is, or null. */
function findWindow(src: Uint8Array, got: Float32Array, pad: number): string | null {
  for (let top = 0; top <= 2 * pad; top++) {
    for (let left = 0; left <= 2 * pad; left++) {
      for (const flip of [false, true]) {
        let ok = true;
        for (let c = 0; c < C && ok; c++) {
          for (let y = 0; y < H && ok; y++) {
            for (let x = 0; x < W && ok; x++) {
              const sy = top + y - pad;
              const sx = left + (flip ? W - 1 - x : x) - pad;
              const want = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0 : src[c * H * W + sy * W + sx] / 255;
              ok = Math.abs(got[c * H * W + y * W + x] - want) < 1e-6;
            }
          }
        }
        if (ok) return `${top},${left},${flip ? 'flip' : 'keep'}`;
      }
    }
  }
  return null;
}
