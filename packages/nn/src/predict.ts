import { type Tensor, isTensor, noGrad, softmax, stack, tidy } from '@webgrad/tensor';
import type { Module } from './module';

/** One class with its probability, as classify() returns them (most likely first). */
export interface Prediction {
  label: string;
  index: number;
  probability: number;
}

/** An image file path or the file's bytes. */
export type ImageInput = string | Uint8Array;

/** Turns a path or bytes into the model's input tensor: `transforms.compose([...])` from @webgrad/datasets fits. */
export type Preprocess = ((source: ImageInput) => Tensor) | { apply(source: ImageInput): Tensor };

export interface ClassifyOptions {
  /** Class names by output index (e.g. the training set's `classes`); default the index as text. */
  classes?: readonly string[];
  /** Needed for paths and bytes: decodes and transforms one image to [C, H, W]. */
  preprocess?: Preprocess;
  /** How many classes to return, most likely first (default 5, at most the number of classes). */
  topK?: number;
}

/**
 * The most likely classes of one image for a trained classifier (outputs [N, classes] logits):
 * `await nn.classify(model, 'cat.jpg', { classes, preprocess: transforms.compose([...]) })`.
 * Runs in eval mode without a graph and leaves the model's mode as it was.
 */
export async function classify(model: Module, input: ImageInput | Tensor, opts: ClassifyOptions = {}): Promise<Prediction[]> {
  const x = isTensor(input) ? input : toTensor(input, opts.preprocess, 'classify');
  if (x.rank === 4 && x.shape[0] !== 1) throw new Error(`classify: got a batch of ${x.shape[0]} images ${shape(x)}; use classifyBatch for batches`);
  if (x.rank !== 3 && x.rank !== 4) throw new Error(`classify: expected one image [C, H, W] (or [1, C, H, W]), got ${shape(x)}`);
  const [first] = await classifyBatch(model, x.rank === 3 ? x.reshape([1, ...x.shape]) : x, opts);
  if (!isTensor(input)) x.dispose();
  return first;
}

/** classify() for a batch [N, C, H, W] or a list of paths/bytes: one list of predictions per image. */
export async function classifyBatch(model: Module, input: Tensor | readonly ImageInput[], opts: ClassifyOptions = {}): Promise<Prediction[][]> {
  const owned = !isTensor(input);
  const x = isTensor(input) ? input : stackInputs(input, opts.preprocess);
  if (x.rank !== 4) throw new Error(`classifyBatch: expected a batch [N, C, H, W], got ${shape(x)}`);
  const device = model.parameters()[0]?.device ?? x.device;
  const modes = model.modules().map((m) => m.training);
  let probs: Tensor;
  try {
    model.eval();
    probs = tidy(() =>
      noGrad(() => {
        const logits = model.forward(x.device === device ? x : x.to(device));
        if (logits.rank !== 2) throw new Error(`classify: the model's output ${shape(logits)} is not [N, classes] logits`);
        return softmax(logits, -1);
      }),
    );
  } finally {
    model.modules().forEach((m, i) => (m.training = modes[i]));
    if (owned) x.dispose();
  }
  const [n, k] = probs.shape;
  const values = await probs.data();
  probs.dispose();
  const classes = opts.classes;
  if (classes && classes.length !== k) throw new Error(`classify: the model has ${k} outputs but ${classes.length} class names were given`);
  const topK = Math.min(opts.topK ?? 5, k);
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`classify: topK must be a positive integer, got ${opts.topK}`);
  return Array.from({ length: n }, (_, row) =>
    Array.from({ length: k }, (_, index) => ({ label: classes ? classes[index] : String(index), index, probability: values[row * k + index] }))
      .sort((a, b) => b.probability - a.probability)
      .slice(0, topK),
  );
}

function toTensor(source: ImageInput, preprocess: Preprocess | undefined, op: string): Tensor {
  if (typeof source !== 'string' && !(source instanceof Uint8Array)) {
    throw new Error(`${op}: expected an image path, the file's bytes (Uint8Array) or a tensor, got ${Object.prototype.toString.call(source)}`);
  }
  if (!preprocess) {
    throw new Error(`${op}: a path or bytes needs { preprocess }, e.g. transforms.compose([transforms.resize(32), transforms.toTensor()]) from @webgrad/datasets, to make the model's input`);
  }
  const x = typeof preprocess === 'function' ? preprocess(source) : preprocess.apply(source);
  if (!isTensor(x)) throw new Error(`${op}: preprocess returned ${Object.prototype.toString.call(x)}, not a tensor`);
  return x;
}

function stackInputs(sources: readonly ImageInput[], preprocess: Preprocess | undefined): Tensor {
  if (!Array.isArray(sources) || sources.length === 0) throw new Error('classifyBatch: expected a batch tensor [N, C, H, W] or a non-empty list of image paths/bytes');
  return tidy(() => {
    const xs = sources.map((s) => toTensor(s, preprocess, 'classifyBatch'));
    const first = xs[0].shape;
    xs.forEach((x, i) => {
      if (x.rank !== 3 || x.shape.some((d, j) => d !== first[j])) throw new Error(`classifyBatch: preprocess gave ${shape(x)} for image ${i} but ${shape(xs[0])} for image 0; each must be [C, H, W] of one size`);
    });
    return stack(xs);
  });
}

const shape = (t: Tensor) => `[${t.shape.join(',')}]`;
