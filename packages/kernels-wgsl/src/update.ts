/**
 * In-place update ops (kernels-ir's update.ts: the optimizer steps) over `count` elements,
 * one invocation per element. Bindings A0 .. A{arrays-1}, in the op's order (read_write
 * where the op writes the array); the scalars are uniform fields s0, s1, ...
 */
import { writtenArrays, type UpdateOp } from '@webgrad/kernels-ir';
import { MATH_F32, wgslBoundValues } from './expr-wgsl';
import { FLOAT_SPECIALS, linearDispatch, linearMain, makeKernel, type Field, type Kernel } from './kernel';

const WG = 256;

export function updateKernel(op: UpdateOp, count: number, scalars: readonly number[]): Kernel {
  if (scalars.length !== op.scalars) throw new Error(`updateKernel: ${op.scalars} scalars expected, got ${scalars.length}`);
  const written = writtenArrays(op);
  const arrays = Array.from({ length: op.arrays }, (_, k) => k);
  return makeKernel({
    key: `update/${op.name}`,
    storage: arrays.map((k) => [`A${k}`, op.writes[k] ? 'read_write' : 'read', 'f32']),
    fields: [['count', 'i32', count], ...scalars.map((v, j) => [`s${j}`, 'f32', v] as Field)],
    build: () => {
      const { lets, values } = wgslBoundValues(written.map((k) => op.writes[k]!), '    ');
      const loads = arrays.map((k) => `    let in${k} = A${k}[i];\n`).join('') + scalars.map((_, j) => `    let in${op.arrays + j} = p.s${j};\n`).join('');
      // every write is computed from the old values before any is stored
      const body = `  {\n${loads}${lets}${written.map((k, j) => `    let w${k} = ${values[j]};\n`).join('')}${written.map((k) => `    A${k}[i] = w${k};\n`).join('')}  }`;
      return FLOAT_SPECIALS + MATH_F32 + linearMain(WG, body);
    },
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
