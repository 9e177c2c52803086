/**
 * The size arguments of layers (kernel sizes, strides, paddings, dilations, output sizes,
 * dims), checked where the layer is built, as PyTorch checks them: a zero or negative size
 * is an error naming the layer and the argument, not a layer that fails, or silently
 * computes nothing, at its first forward.
 */

type Sizes = number | readonly number[];

const shown = (v: unknown) => (Array.isArray(v) ? `[${v.join(', ')}]` : typeof v === 'string' ? `'${v}'` : String(v));
const values = (v: Sizes): readonly unknown[] => (Array.isArray(v) ? v : [v]);

function check(layer: string, what: string, v: Sizes, ok: (x: number) => boolean, kind: string): void {
  if (!values(v).every((x) => Number.isInteger(x) && ok(x as number))) {
    throw new Error(`${layer}: ${what} must be ${kind} (one, or one per spatial dim), got ${shown(v)}`);
  }
}

/** Kernel sizes, strides, dilations, output sizes: integers ≥ 1. */
export const positiveSizes = (layer: string, what: string, v: Sizes): void => check(layer, what, v, (x) => x >= 1, 'a positive integer');

/** Paddings: integers ≥ 0. */
export const nonNegativeSizes = (layer: string, what: string, v: Sizes): void => check(layer, what, v, (x) => x >= 0, 'a non-negative integer');

/** A dim argument (negative counts from the end). */
export function integerDim(layer: string, what: string, v: number): void {
  if (!Number.isInteger(v)) throw new Error(`${layer}: ${what} must be an integer dim, got ${shown(v)}`);
}
