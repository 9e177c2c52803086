import { checkResizeFilter, DEFAULT_RESIZE_FILTER, type ResizeFilter } from './resize';

/**
 * Transforms are plain data, not functions, so that they can be sent to worker threads.
 * `compileTransforms` turns a list into one fused pass per image.
 */
export type Transform =
  | { kind: 'resize'; height: number; width: number; filter?: ResizeFilter }
  | { kind: 'grayscale' }
  | { kind: 'randomCrop'; height: number; width: number; padding: number }
  | { kind: 'horizontalFlip'; p: number }
  | { kind: 'toTensor' }
  | { kind: 'normalize'; mean: number[]; std: number[] };

/** The transforms a DataLoader or compose() applies, as torchvision names them (compose is in compose.ts). */
export const transforms = {
  /**
   * Every image to height×width with `filter`: 'bilinear' (default; PIL's, as torchvision's
   * Resize on PIL images), 'nearest' or 'area' (see resize.ts). A loader's images are resized
   * when loaded (imageFolder's `size` and `resizeFilter`), so there it only checks the size;
   * compose() resizes.
   */
  resize(size: number | [number, number], opts: { filter?: ResizeFilter } = {}): Transform {
    const [height, width] = typeof size === 'number' ? [size, size] : size;
    return { kind: 'resize', height, width, filter: checkResizeFilter(opts.filter ?? DEFAULT_RESIZE_FILTER, 'transforms.resize') };
  },
  /** One grey channel (compose() decodes as grey; a loader's set must already be grey). */
  grayscale(): Transform {
    return { kind: 'grayscale' };
  },
  /** A random size×size window of the image zero-padded by `padding` on every side. */
  randomCrop(size: number | [number, number], opts: { padding?: number } = {}): Transform {
    const [height, width] = typeof size === 'number' ? [size, size] : size;
    return { kind: 'randomCrop', height, width, padding: opts.padding ?? 0 };
  },
  /** Mirrors the image left-right with probability p. */
  horizontalFlip(p = 0.5): Transform {
    return { kind: 'horizontalFlip', p };
  },
  /** Bytes 0..255 to floats 0..1 (always done; listing it only marks where normalize may start). */
  toTensor(): Transform {
    return { kind: 'toTensor' };
  },
  /** (x - mean[c]) / std[c] per channel, on 0..1 values. */
  normalize(mean: number[], std: number[]): Transform {
    return { kind: 'normalize', mean: [...mean], std: [...std] };
  },
};

/** What one fused pass does to an image: crop window, flip chance, and per-channel affine map. */
export interface TransformPlan {
  channels: number;
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  padding: number;
  randomCrop: boolean;
  flipP: number;
  /** Output = pixel * scale[c] + shift[c]. */
  scale: number[];
  shift: number[];
}

const fail = (msg: string): never => {
  throw new Error(`transforms: ${msg}`);
};

function perChannel(name: string, values: number[], channels: number): number[] {
  if (values.length === 1) return new Array<number>(channels).fill(values[0]);
  if (values.length !== channels) fail(`normalize ${name} has ${values.length} values but the images have ${channels} channels`);
  return values;
}

/** Checks a transform list against an image size and fuses it. */
export function compileTransforms(list: readonly Transform[], channels: number, height: number, width: number): TransformPlan {
  const plan: TransformPlan = { channels, inHeight: height, inWidth: width, outHeight: height, outWidth: width, padding: 0, randomCrop: false, flipP: 0, scale: new Array<number>(channels).fill(1 / 255), shift: new Array<number>(channels).fill(0) };
  let seen = { crop: false, flip: false, tensor: false, normalize: false };
  for (const t of list) {
    if (t.kind === 'resize') {
      if (seen.crop || seen.flip || seen.tensor || seen.normalize) fail('resize must come first');
      if (t.height !== height || t.width !== width) {
        fail(`resize to ${t.height}×${t.width} does not match the set's ${height}×${width} images; a set is resized when it is loaded (imageFolder's size option)`);
      }
    } else if (t.kind === 'grayscale') {
      if (channels !== 1) fail(`grayscale: the set has ${channels} channels; load it as grey (colour: 'grey') instead`);
    } else if (t.kind === 'randomCrop') {
      if (seen.tensor || seen.normalize) fail('randomCrop must come before toTensor and normalize');
      if (seen.crop) fail('only one randomCrop is supported');
      if (t.padding < 0 || !Number.isInteger(t.padding)) fail(`randomCrop padding must be a non-negative integer, got ${t.padding}`);
      if (t.height < 1 || t.width < 1 || t.height > height + 2 * t.padding || t.width > width + 2 * t.padding) {
        fail(`randomCrop ${t.height}×${t.width} does not fit a ${height}×${width} image padded by ${t.padding}`);
      }
      Object.assign(plan, { outHeight: t.height, outWidth: t.width, padding: t.padding, randomCrop: true });
    } else if (t.kind === 'horizontalFlip') {
      if (seen.tensor || seen.normalize) fail('horizontalFlip must come before toTensor and normalize');
      if (!(t.p >= 0 && t.p <= 1)) fail(`horizontalFlip p must be in [0, 1], got ${t.p}`);
      plan.flipP = t.p;
    } else if (t.kind === 'toTensor') {
      if (seen.normalize) fail('toTensor must come before normalize');
    } else if (t.kind === 'normalize') {
      if (seen.normalize) fail('only one normalize is supported');
      const mean = perChannel('mean', t.mean, channels);
      const std = perChannel('std', t.std, channels);
      if (std.some((s) => !(s > 0))) fail(`normalize std must be positive, got [${std.join(', ')}]`);
      plan.scale = std.map((s) => 1 / (255 * s));
      plan.shift = mean.map((m, c) => -m / std[c]);
    } else {
      fail(`unknown transform ${JSON.stringify(t)}`);
    }
    seen = { crop: seen.crop || t.kind === 'randomCrop', flip: seen.flip || t.kind === 'horizontalFlip', tensor: seen.tensor || t.kind === 'toTensor', normalize: seen.normalize || t.kind === 'normalize' };
  }
  return plan;
}
