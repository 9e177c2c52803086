import { tensor, type Tensor } from '@webgrad/tensor';
import { runBatchTask } from './batch-task';
import type { Colour, Pixels } from './decode-image';
import { decodeImage } from './decode-image';
import { naming } from './naming';
import { nodeOnly } from './platform';
import { DEFAULT_RESIZE_FILTER, resizeToPlanar, type ResizeFilter } from './resize';
import { compileTransforms, type Transform } from './transforms';

/** An image to transform: a file path (Node), the file's bytes, or pixels already decoded (in a page: decodeImageSource). */
export type ImageSource = string | Uint8Array | Pixels;

export interface ComposeApplyOptions {
  /** Device of the result (default: the default device). */
  device?: string;
  /** Fixes randomCrop and horizontalFlip, when the list has them (default 0). */
  seed?: number;
}

const isPixels = (x: unknown): x is Pixels =>
  typeof x === 'object' && x !== null && !(x instanceof Uint8Array) && 'data' in x && 'channels' in x && 'height' in x && 'width' in x;

/**
 * torchvision's Compose for single images and batches outside a DataLoader, for inference:
 * `transforms.compose([transforms.resize(32), transforms.toTensor(), transforms.normalize(mean, std)])
 * .apply('cat.jpg')` is a float32 [3, 32, 32] tensor, the same values a DataLoader with that
 * list would give. The same list can go to the DataLoader as `transforms: compose.transforms`.
 */
export class Compose {
  readonly transforms: readonly Transform[];
  private readonly grey: boolean;
  private readonly size: [number, number] | null;
  private readonly filter: ResizeFilter;

  constructor(list: readonly Transform[]) {
    if (!Array.isArray(list)) throw new Error('transforms.compose: expected an array of transforms, e.g. compose([transforms.resize(32), transforms.toTensor()])');
    this.transforms = [...list];
    this.grey = list.some((t) => t.kind === 'grayscale');
    const resize = list.find((t) => t.kind === 'resize');
    this.size = resize ? [resize.height, resize.width] : null;
    this.filter = resize?.filter ?? DEFAULT_RESIZE_FILTER;
    if (resize && list.slice(0, list.indexOf(resize)).some((t) => t.kind !== 'grayscale')) {
      throw new Error('transforms: resize must come first (after grayscale), before crops, flips, toTensor and normalize');
    }
  }

  /** One image to float32 [C, H, W]. */
  apply(image: ImageSource, opts?: ComposeApplyOptions): Tensor;
  /** Several images to one float32 batch [N, C, H, W] (they must share a size after resize). */
  apply(images: readonly ImageSource[], opts?: ComposeApplyOptions): Tensor;
  apply(input: ImageSource | readonly ImageSource[], opts: ComposeApplyOptions = {}): Tensor {
    const batch = Array.isArray(input);
    const list = (batch ? input : [input]) as readonly ImageSource[];
    if (list.length === 0) throw new Error('transforms.compose: apply() got an empty list of images');
    const decoded = list.map((src, i) => this.decode(src, batch ? i : -1));
    const [height, width] = this.size ?? [decoded[0].height, decoded[0].width];
    const channels = decoded[0].channels;
    decoded.forEach((px, i) => {
      if (!this.size && (px.height !== height || px.width !== width)) {
        throw new Error(`transforms.compose: image ${i} is ${px.height}×${px.width} but image 0 is ${height}×${width}; add transforms.resize(size) first to batch images of different sizes`);
      }
    });
    const plane = channels * height * width;
    const images = new Uint8Array(list.length * plane);
    decoded.forEach((px, i) => resizeToPlanar(px, height, width, images.subarray(i * plane, (i + 1) * plane), this.filter));
    const plan = compileTransforms(this.transforms, channels, height, width);
    const { x } = runBatchTask({ kind: 'batch', images, indices: Int32Array.from(list, (_, i) => i), plan, seed: opts.seed ?? 0, epoch: 0 });
    const shape = [plan.channels, plan.outHeight, plan.outWidth];
    return tensor(x, { shape: batch ? [list.length, ...shape] : shape, device: opts.device });
  }

  private decode(src: ImageSource, index: number): Pixels {
    if (isPixels(src)) {
      if (this.grey && src.channels !== 1) throw new Error(`transforms.compose: grayscale needs grey pixels; image${index >= 0 ? ` ${index}` : ''} has ${src.channels} channels (decode it with colour 'grey')`);
      return src;
    }
    if (typeof src !== 'string' && !(src instanceof Uint8Array)) {
      throw new Error(`transforms.compose: apply() takes a file path, the file's bytes (Uint8Array) or decoded pixels, got ${Object.prototype.toString.call(src)}`);
    }
    const colour: Colour = this.grey ? 'grey' : 'rgb';
    if (typeof src === 'string') {
      if (!nodeOnly.readImageFile) throw new Error(`transforms.compose: ${src} is a file path, which only the Node entry of @webgrad/datasets reads; in a page pass the bytes or await decodeImageSource(file or url)`);
      return nodeOnly.readImageFile(src, colour);
    }
    return naming('readImage', '<bytes>', () => {
      if (src.length === 0) throw new Error('empty file');
      return decodeImage(src, colour);
    });
  }
}

/** `transforms.compose([...])`: see Compose. */
export function compose(list: readonly Transform[]): Compose {
  return new Compose(list);
}
