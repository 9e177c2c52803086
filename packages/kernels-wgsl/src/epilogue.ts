/**
 * A GEMM's or convolution's epilogue (kernels-ir's ProductEpilogue) as the parts a product
 * kernel adds to its store: the fused op as `fn epilogue`, the further inputs as read-only
 * bindings E1..Ek, and for each input the strides of the axes it does not broadcast (uniform
 * fields, so one compiled kernel serves every size with the same broadcast pattern).
 */
import { broadcastPattern, children, type Expr, type ProductEpilogue } from '@webgrad/kernels-ir';
import { MATH_F32, wgslFusedFunction } from './expr-wgsl';
import { FLOAT_SPECIALS, type Field } from './kernel';

export interface EpilogueParts {
  /** The kernel key's suffix: '' without an epilogue. */
  key: string;
  /** WGSL functions the store calls. */
  head: string;
  /** Bindings E1..Ek, in the op's order, to go between the product's inputs and its output. */
  storage: [name: string, access: 'read', elem: string][];
  fields: Field[];
  /** WGSL of the value to store for the product's value `v` at axes (i0, i1, i2) (i32 expressions). */
  apply(v: string, i0: string, i1: string, i2: string): string;
}

/**
 * Whether a tree calls pow or tanh, whose helpers MATH_F32 defines. Left out otherwise: with
 * them present (even uncalled) lavapipe took 8 s instead of 40 ms to compile the tiled GEMM.
 */
const usesMathHelpers = (e: Expr): boolean => (e.kind === 'call' && (e.fn === 'pow' || e.fn === 'tanh')) || children(e).some(usesMathHelpers);

const NONE: EpilogueParts = { key: '', head: '', storage: [], fields: [], apply: (v) => v };

export function epilogueParts(e: ProductEpilogue | undefined): EpilogueParts {
  if (!e) return NONE;
  const fields: Field[] = [];
  const reads = e.shapes.map((s, k) => {
    const terms: string[] = [];
    for (let a = 0; a < 3; a++) {
      if (s[a] === 1) continue;
      const name = `e${k + 1}s${a}`;
      fields.push([name, 'i32', s.slice(a + 1).reduce((n, d) => n * d, 1)]);
      terms.push(`i${a} * p.${name}`);
    }
    return `E${k + 1}[${terms.length ? terms.join(' + ') : '0'}]`;
  });
  const head = FLOAT_SPECIALS + (usesMathHelpers(e.op.expr) ? MATH_F32 : '') + wgslFusedFunction(e.op, 'epilogue') +
    `fn epilogue_at(v: f32, i0: i32, i1: i32, i2: i32) -> f32 {\n  return epilogue(${['v', ...reads].join(', ')});\n}\n`;
  return {
    key: `/epi:${e.op.name}/${broadcastPattern(e.shapes)}`,
    head,
    storage: e.shapes.map((_, k) => [`E${k + 1}`, 'read', 'f32']),
    fields,
    apply: (v, i0, i1, i2) => `epilogue_at(${v}, ${i0}, ${i1}, ${i2})`,
  };
}
