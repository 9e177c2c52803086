/**
 * N-d padding with PyTorch's modes (constant, reflect, replicate, circular); negative
 * amounts crop. One invocation per output element maps each coordinate to its source.
 */
import { linearDispatch, linearMain, makeKernel, type Field, type Kernel, type ScalarType } from './kernel';
import { stridesOf } from '@webgrad/kernels-ir';

export type PadMode = 'constant' | 'reflect' | 'replicate' | 'circular';

const WG = 256;

/** WGSL mapping coordinate `i` (already minus `before`) of a dim of length `n` into [0, n). */
function sourceExpr(mode: PadMode): string {
  switch (mode) {
    case 'constant': return 'i';
    case 'replicate': return 'clamp(i, 0, n - 1)';
    case 'circular': return '((i % n) + n) % n';
    case 'reflect': return 'reflect_index(i, n)';
  }
}

const REFLECT = `
fn reflect_index(i: i32, n: i32) -> i32 {
  if (n == 1) { return 0; }
  let period = 2 * (n - 1);
  let r = ((i % period) + period) % period;
  return select(period - r, r, r < n);
}
`;

/**
 * Pads x (shape) by pads[d] = [before, after]. Bindings X, out. The caller checks the
 * amounts (reflect < size, circular <= size, no negative output dims).
 */
export function padKernel(shape: readonly number[], pads: readonly (readonly [number, number])[], mode: PadMode, value: number, type: ScalarType): Kernel {
  const rank = shape.length;
  const outShape = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const count = outShape.reduce((a, b) => a * b, 1);
  const inStrides = stridesOf(shape);
  const fields: Field[] = [['count', 'i32', count], ['value', type, value]];
  for (let d = 0; d < rank; d++) {
    fields.push([`o${d}`, 'i32', outShape[d]], [`n${d}`, 'i32', shape[d]], [`b${d}`, 'i32', pads[d][0]], [`s${d}`, 'i32', inStrides[d]]);
  }
  const build = () => {
    let body = '  var rem = i;\n  var off = 0;\n  var inside = true;\n';
    for (let d = rank - 1; d >= 0; d--) {
      body += `  {\n    let c = ${d === 0 ? 'rem' : `rem % p.o${d}`};\n    rem = rem / p.o${d};\n    let n = p.n${d};\n    let i = c - p.b${d};\n`;
      body += `    let src = ${sourceExpr(mode)};\n    inside = inside && src >= 0 && src < n;\n    off += src * p.s${d};\n  }\n`;
    }
    body += '  Y[i] = select(p.value, X[max(off, 0)], inside);';
    return (mode === 'reflect' ? REFLECT : '') + linearMain(WG, body);
  };
  return makeKernel({
    key: `pad/${mode}/${type}/r${rank}`,
    storage: [['X', 'read', type], ['Y', 'read_write', type]],
    fields,
    build,
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
