import type { DType } from './backend';
import { sizeOf } from './shape';

/** How tensors print (PyTorch's torch.set_printoptions, in camelCase). */
export interface PrintOptions {
  /** Digits after the decimal point for float tensors (default 4). */
  precision?: number;
  /** More elements than this and the middle of each long dim is shown as `...` (default 1000). */
  threshold?: number;
  /** Elements kept at each end of a summarised dim (default 3). */
  edgeItems?: number;
  /** Characters per line before a row wraps (default 80). */
  lineWidth?: number;
}

const defaults: Required<PrintOptions> = { precision: 4, threshold: 1000, edgeItems: 3, lineWidth: 80 };
let current: Required<PrintOptions> = { ...defaults };

/** Sets the print options for every later toString/format; a call without options restores the defaults. */
export function setPrintOptions(opts?: PrintOptions): void {
  current = opts ? { ...current, ...opts } : { ...defaults };
}

/** What a printed tensor says after its values: device, dtype and autograd state. */
export interface TensorTraits {
  shape: readonly number[];
  dtype: DType;
  device: string;
  requiresGrad: boolean;
  gradFn?: string;
}

/**
 * PyTorch's tensor repr: `tensor([[ 0.1234, -1.0000],\n        [ 2.5000,  3.0000]], device='webgpu')`.
 * Floats share one format (integer-valued `1.`, fixed, or scientific when the magnitudes
 * span too far), columns are right-aligned, and past `threshold` elements each long dim
 * shows its first and last `edgeItems` around `...`.
 */
export function formatTensor(values: ArrayLike<number>, t: TensorTraits, opts: PrintOptions = {}): string {
  const o = { ...current, ...opts };
  const prefix = 'tensor(';
  const summarise = sizeOf(t.shape) > o.threshold;
  const shown = (n: number): number[] => {
    if (!summarise || n <= 2 * o.edgeItems) return range(0, n);
    return [...range(0, o.edgeItems), -1, ...range(n - o.edgeItems, n)];
  };
  const strides = t.shape.map((_, d) => sizeOf(t.shape.slice(d + 1)));

  // First pass: the visible elements decide one number format for the whole tensor.
  const visible: number[] = [];
  const collect = (offset: number, dim: number): void => {
    if (dim === t.shape.length) return void visible.push(values[offset]);
    for (const i of shown(t.shape[dim])) if (i >= 0) collect(offset + i * strides[dim], dim + 1);
  };
  collect(0, 0);
  const format = numberFormat(visible, t.dtype, o.precision);
  const width = Math.max(0, ...visible.map((v) => format(v).length));
  const cell = (v: number) => format(v).padStart(width);

  const body = (offset: number, dim: number, indent: number): string => {
    if (dim === t.shape.length) return cell(values[offset]);
    const items = shown(t.shape[dim]);
    if (dim === t.shape.length - 1) {
      // PyTorch pads the ellipsis by one, as if it were a number of its own.
      const cells = items.map((i) => (i < 0 ? ' ...' : cell(values[offset + i])));
      const perLine = Math.max(1, Math.floor((o.lineWidth - indent - 1) / (width + 2)));
      const lines: string[] = [];
      for (let k = 0; k < cells.length; k += perLine) lines.push(cells.slice(k, k + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
    }
    const gap = '\n'.repeat(Math.max(1, t.shape.length - dim - 1));
    const rows = items.map((i) => (i < 0 ? '...' : body(offset + i * strides[dim], dim + 1, indent + 1)));
    return `[${rows.join(`,${gap}${' '.repeat(indent + 1)}`)}]`;
  };

  const empty = sizeOf(t.shape) === 0;
  const values_ = empty ? '[]' : body(0, 0, prefix.length);
  return `${prefix}${values_}${traits(t, empty && t.shape.length !== 1)})`;
}

/** The repr of a tensor whose values cannot be read synchronously (a GPU tensor) or no longer exist. */
export function formatWithoutValues(t: TensorTraits, why: string): string {
  return `tensor(<${why}>${traits(t, true)})`;
}

function traits(t: TensorTraits, withShape: boolean): string {
  const parts: string[] = [];
  if (withShape) parts.push(`shape=[${t.shape.join(', ')}]`);
  if (t.device !== 'cpu') parts.push(`device='${t.device}'`);
  if (t.dtype !== 'float32') parts.push(`dtype=${t.dtype}`);
  if (t.gradFn) parts.push(`gradFn=<${t.gradFn}>`);
  else if (t.requiresGrad) parts.push('requiresGrad=true');
  return parts.map((p) => `, ${p}`).join('');
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

function special(v: number): string | null {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  return null;
}

/** PyTorch's _Formatter: one style for all values so that columns line up. */
function numberFormat(values: number[], dtype: DType, precision: number): (v: number) => string {
  if (dtype === 'int32') return (v) => String(v);
  const finite = values.filter(Number.isFinite);
  const abs = finite.map(Math.abs).filter((v) => v > 0);
  if (finite.every(Number.isInteger)) {
    // Whole numbers print as `3.`; huge ones switch to scientific like PyTorch.
    if (abs.length && Math.max(...abs) >= 1e8) return (v) => special(v) ?? v.toExponential(precision);
    return (v) => special(v) ?? `${v.toFixed(0)}.`;
  }
  const max = abs.length ? Math.max(...abs) : 0;
  const min = abs.length ? Math.min(...abs) : 0;
  if (max / min > 1000 || max > 1e8 || min < 1e-4) return (v) => special(v) ?? v.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
  return (v) => special(v) ?? v.toFixed(precision);
}
