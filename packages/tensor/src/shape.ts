import type { Shape } from './backend';

export { sizeOf, stridesOf } from '@webgrad/kernels-ir';

export const fmt = (shape: Shape): string => `[${shape.join(',')}]`;

/** NumPy broadcasting of two shapes; the error names the op, both shapes and the clashing dim. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast: dim ${i - rank} is ${da} in one and ${db} in the other (each pair must be equal or 1)`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Left-pads a shape with ones to the given rank. */
export function padRank(shape: Shape, rank: number): number[] {
  return [...new Array<number>(rank - shape.length).fill(1), ...shape];
}

export function normalizeDim(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -rank || dim >= Math.max(rank, 1)) {
    throw new Error(`${op}: dim ${dim} is out of range for a tensor of rank ${rank} (expected ${-rank} to ${Math.max(rank, 1) - 1})`);
  }
  return dim < 0 ? dim + rank : dim;
}

/** Dims to reduce: undefined means all; duplicates are an error; the result is sorted. */
export function normalizeDims(op: string, dims: number | number[] | undefined, rank: number): number[] {
  if (dims === undefined) return [...Array(rank).keys()];
  const list = (Array.isArray(dims) ? dims : [dims]).map((d) => normalizeDim(op, d, rank));
  if (new Set(list).size !== list.length) throw new Error(`${op}: dims [${dims}] repeat a dim`);
  return list.sort((x, y) => x - y);
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** An int or a per-dim array, expanded to n values (PyTorch's int-or-tuple arguments). */
export function expandArg(op: string, name: string, v: number | readonly number[], n: number): number[] {
  if (typeof v === 'number') return new Array<number>(n).fill(v);
  if (v.length === 1) return new Array<number>(n).fill(v[0]);
  if (v.length !== n) throw new Error(`${op}: ${name} has ${v.length} values [${v}] but the op has ${n} spatial dims`);
  return [...v];
}
