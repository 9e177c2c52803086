/**
 * The elementwise part of webgrad's ONNX op set, declared once for both directions: each
 * entry of ONE_TO_ONE and BINARY is a webgrad op (by the name its autograd node records) and
 * the ONNX op that computes the same, with the webgrad parameters that become ONNX attributes.
 * exportOnnx writes from these tables, importOnnx reads with them; the ops that are more than
 * one node one way (silu, gelu, softplus with β, clamp as Clip) are spelled out below them.
 */
import type { OpAttrs } from '@webgrad/tensor';

/** The opsets exportOnnx writes (13 brought Softmax along one axis and ReduceSum's axes input). */
export const EXPORT_OPSETS = [13, 21] as const;
/** The opsets importOnnx reads: 11 brought Pad and Clip's inputs and the modern Conv/Resize semantics. */
export const IMPORT_OPSETS = [11, 21] as const;

/** webgrad op → ONNX op, with webgrad's parameter names → ONNX's attribute names and ONNX's defaults. */
export const ONE_TO_ONE: Record<string, { onnx: string; attrs?: Record<string, readonly [onnx: string, onnxDefault: number]> }> = {
  relu: { onnx: 'Relu' },
  sigmoid: { onnx: 'Sigmoid' },
  tanh: { onnx: 'Tanh' },
  exp: { onnx: 'Exp' },
  log: { onnx: 'Log' },
  sqrt: { onnx: 'Sqrt' },
  neg: { onnx: 'Neg' },
  abs: { onnx: 'Abs' },
  sign: { onnx: 'Sign' },
  erf: { onnx: 'Erf' },
  sin: { onnx: 'Sin' },
  cos: { onnx: 'Cos' },
  reciprocal: { onnx: 'Reciprocal' },
  leakyRelu: { onnx: 'LeakyRelu', attrs: { negativeSlope: ['alpha', 0.01] } },
  elu: { onnx: 'Elu', attrs: { alpha: ['alpha', 1] } },
};

/** Binary webgrad ops → ONNX ops (both broadcast as NumPy does). */
export const BINARY: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min' };

/** What an exporter offers a composite writer. */
export interface NodeWriter {
  readonly opset: number;
  node(op: string, inputs: string[], attrs: Record<string, number | number[] | string>): string;
  scalar(label: string, v: number): string;
}

type UnaryWriter = { write(w: NodeWriter, x: string, a: OpAttrs): string };

const num = (a: OpAttrs, k: string) => a[k] as number;
const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Clip with optional bounds as inputs ('' skips one), as opset 11 defines it. */
function clip(w: NodeWriter, x: string, min: number, max: number): string {
  const ins = [x, Number.isFinite(min) ? w.scalar('min', min) : '', ...(Number.isFinite(max) ? [w.scalar('max', max)] : [])];
  return w.node('Clip', ins, {});
}

/** The export side, by webgrad op: the one-to-one table, then the composites. */
export const UNARY: Record<string, UnaryWriter> = {
  ...Object.fromEntries(
    Object.entries(ONE_TO_ONE).map(([op, e]) => [
      op,
      { write: (w: NodeWriter, x: string, a: OpAttrs) => w.node(e.onnx, [x], Object.fromEntries(Object.entries(e.attrs ?? {}).map(([p, [o]]) => [o, num(a, p)]))) },
    ]),
  ),
  silu: { write: (w, x) => w.node('Mul', [x, w.node('Sigmoid', [x], {})], {}) },
  // gelu: opset 20's Gelu; before it the erf formula torch.onnx writes.
  gelu: {
    write: (w, x) =>
      w.opset >= 20
        ? w.node('Gelu', [x], {})
        : w.node('Mul', [w.node('Mul', [x, w.node('Add', [w.node('Erf', [w.node('Mul', [x, w.scalar('sqrt1_2', SQRT1_2)], {})], {}), w.scalar('one', 1)], {})], {}), w.scalar('half', 0.5)], {}),
  },
  geluTanh: {
    write: (w, x) => {
      if (w.opset >= 20) return w.node('Gelu', [x], { approximate: 'tanh' });
      const cube = w.node('Mul', [x, w.node('Mul', [x, x], {})], {});
      const inner = w.node('Mul', [w.node('Add', [x, w.node('Mul', [cube, w.scalar('c', 0.044715)], {})], {}), w.scalar('sqrt_2_over_pi', SQRT_2_OVER_PI)], {});
      const t = w.node('Add', [w.node('Tanh', [inner], {}), w.scalar('one', 1)], {});
      return w.node('Mul', [w.node('Mul', [x, t], {}), w.scalar('half', 0.5)], {});
    },
  },
  // Softplus(βx)/β. PyTorch's linear tail above the threshold is within float error of the curve.
  softplus: {
    write: (w, x, a) => {
      const beta = num(a, 'beta');
      if (beta === 1) return w.node('Softplus', [x], {});
      return w.node('Div', [w.node('Softplus', [w.node('Mul', [x, w.scalar('beta', beta)], {})], {}), w.scalar('beta', beta)], {});
    },
  },
  hardtanh: { write: (w, x, a) => clip(w, x, num(a, 'minVal'), num(a, 'maxVal')) },
  clamp: { write: (w, x, a) => clip(w, x, num(a, 'min'), num(a, 'max')) },
  affine: { write: (w, x, a) => w.node('Add', [w.node('Mul', [x, w.scalar('scale', num(a, 'scale'))], {}), w.scalar('shift', num(a, 'shift'))], {}) },
  powScalar: { write: (w, x, a) => w.node('Pow', [x, w.scalar('exponent', num(a, 'exponent'))], {}) },
  rsqrt: { write: (w, x) => w.node('Reciprocal', [w.node('Sqrt', [x], {})], {}) },
  log1p: { write: (w, x) => w.node('Log', [w.node('Add', [x, w.scalar('one', 1)], {})], {}) },
  expm1: { write: (w, x) => w.node('Sub', [w.node('Exp', [x], {}), w.scalar('one', 1)], {}) },
};
