/**
 * The WGSL that turns a flat output index into per-operand offsets, over a walk that
 * kernels-ir's mergeDims simplified first (which keeps the rank, and the integer divisions
 * each invocation pays, small).
 */
import type { Merged } from '@webgrad/kernels-ir';
import type { Field } from './kernel';

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
