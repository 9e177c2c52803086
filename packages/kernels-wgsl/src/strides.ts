/**
 * Host-side shape simplification and the WGSL that turns a flat output index into
 * per-operand offsets. Merging dims first keeps the rank (and the integer divisions each
 * invocation pays) small: a broadcast add of [64,32,16,16] + [32,1,1] becomes rank 3.
 */
import type { Field } from './kernel';

export interface Merged {
  shape: number[];
  /** One stride list per operand, aligned with shape. */
  strides: number[][];
}

/** Row-major strides of a contiguous shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Strides of `shape` broadcast to `outShape` (same rank): 0 where the dim is broadcast. */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const s = contiguousStrides(shape);
  return outShape.map((d, i) => (shape[i] === 1 && d !== 1 ? 0 : s[i]));
}

/**
 * Drops size-1 dims and merges dim d into d-1 wherever every operand steps through both as
 * one: strides[d-1] == strides[d] * shape[d].
 */
export function mergeDims(shape: readonly number[], strides: readonly (readonly number[])[]): Merged {
  const sh: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const n = sh.length;
    if (n > 0 && strides.every((s, k) => st[k][n - 1] === s[d] * shape[d])) {
      sh[n - 1] *= shape[d];
      strides.forEach((s, k) => (st[k][n - 1] = s[d]));
    } else {
      sh.push(shape[d]);
      strides.forEach((s, k) => st[k].push(s[d]));
    }
  }
  return { shape: sh, strides: st };
}

/** Uniform fields for a merged walk: shape `s{d}` and, per operand name, strides `${name}{d}`. */
export function walkFields(m: Merged, names: readonly string[]): Field[] {
  const f: Field[] = m.shape.map((v, d) => [`s${d}`, 'i32', v] as Field);
  names.forEach((n, k) => m.strides[k].forEach((v, d) => f.push([`${n}${d}`, 'i32', v])));
  return f;
}

/**
 * WGSL declaring `var o_${name}: i32` for each operand: the offset of flat index `idx`
 * (i32 expression) in a walk of `rank` dims (fields from walkFields).
 */
export function walkOffsets(rank: number, names: readonly string[], idx = 'i'): string {
  let s = names.map((n) => `  var o_${n} = 0;\n`).join('');
  if (rank === 0) return s;
  s += `  var rem = ${idx};\n`;
  for (let d = rank - 1; d >= 1; d--) {
    s += `  { let c = rem % p.s${d}; rem = rem / p.s${d};${names.map((n) => ` o_${n} += c * p.${n}${d};`).join('')} }\n`;
  }
  s += `  ${names.map((n) => `o_${n} += rem * p.${n}0;`).join(' ')}\n`;
  return s;
}
