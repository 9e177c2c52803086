import { type DType, type Tensor, getDefaultDevice, isTensor, noGrad, tidy, zeros } from '@webgrad/tensor';
import type { Module } from './module';

export interface SummaryOptions {
  /** dtype of the made-up input (default float32). */
  dtype?: DType;
  /** Device of the made-up input (default: the model's parameters', else the default device). */
  device?: string;
  /** Deepest level of submodules listed (default: all). */
  depth?: number;
}

/** One forward call of one module: what torchinfo prints per row. */
export interface SummaryRow {
  /** Dotted path from the model ('' for the model itself). */
  name: string;
  /** The name in its parent (`0`, `conv1`, `blocks.2`). */
  local: string;
  type: string;
  depth: number;
  outputShape: number[];
  /** This module's own parameters (its submodules' are on their own rows). */
  params: number;
  /** This module's parameters with its submodules'. */
  totalParams: number;
}

/** What model.summary() returns; `String(summary)` is the table. */
export interface ModelSummary {
  inputShape: number[];
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  toString(): string;
}

const WIDTHS = [40, 26, 14];
const count = (n: number) => n.toLocaleString('en-US');

/**
 * torchinfo's summary: runs one forward pass on zeros of `inputShape` (batch dim included)
 * in eval mode without a graph, records the output shape of every module call, and counts
 * parameters. The model's train/eval flags are restored afterwards and nothing is kept.
 */
export function summarize(model: Module, inputShape: readonly number[], opts: SummaryOptions = {}): ModelSummary {
  if (!Array.isArray(inputShape) || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new Error(`summary: inputShape must be an array of positive integers with the batch dim first, e.g. [1, 3, 32, 32]; got ${JSON.stringify(inputShape)}`);
  }
  const named = model.namedModules();
  const place = placesOf(model);
  const rows: SummaryRow[] = [];
  const modes = named.map(([, m]) => m.training);
  const device = opts.device ?? model.parameters()[0]?.device ?? getDefaultDevice();
  // Each module's forward is shadowed by an own property for the pass, then put back.
  const patched: [Module, PropertyDescriptor | undefined][] = [];
  for (const [, m] of named) {
    const original = m.forward;
    const wrapper = (...args: Tensor[]): Tensor => {
      const { name, local, depth } = place.get(m)!;
      const row: SummaryRow = { name, local, type: m.constructor.name, depth, outputShape: [], params: ownParams(m), totalParams: m.numParameters() };
      rows.push(row);
      const y = original.apply(m, args as [Tensor, ...Tensor[]]);
      if (isTensor(y)) row.outputShape = [...y.shape];
      return y;
    };
    patched.push([m, Object.getOwnPropertyDescriptor(m, 'forward')]);
    Object.defineProperty(m, 'forward', { value: wrapper, configurable: true, writable: true, enumerable: false });
  }
  try {
    model.eval();
    tidy(() => noGrad(() => void model.forward(zeros(inputShape, { dtype: opts.dtype ?? 'float32', device }))));
  } catch (err) {
    throw new Error(`summary: the forward pass on an input of shape [${inputShape.join(', ')}] failed: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const [m, own] of patched) {
      if (own) Object.defineProperty(m, 'forward', own);
      else delete (m as unknown as Record<string, unknown>).forward;
    }
    named.forEach(([, m], i) => (m.training = modes[i]));
  }
  const shown = rows.filter((r) => opts.depth === undefined || r.depth <= opts.depth);
  const totalParams = model.numParameters();
  const trainableParams = model.numParameters({ trainableOnly: true });
  return {
    inputShape: [...inputShape],
    rows,
    totalParams,
    trainableParams,
    toString: () => table(shown, opts.depth, totalParams, trainableParams),
  };
}

/** Each module's dotted path and depth in the tree (an array child `blocks.0` is one level). */
function placesOf(model: Module): Map<Module, { name: string; local: string; depth: number }> {
  const out = new Map<Module, { name: string; local: string; depth: number }>();
  const visit = (m: Module, name: string, local: string, depth: number) => {
    if (out.has(m)) return;
    out.set(m, { name, local, depth });
    for (const [n, child] of m.namedChildren()) visit(child, name ? `${name}.${n}` : n, n, depth + 1);
  };
  visit(model, '', '', 0);
  return out;
}

function ownParams(m: Module): number {
  return m.parameters(false).reduce((acc, p) => acc + p.size, 0);
}

function table(rows: SummaryRow[], maxDepth: number | undefined, total: number, trainable: number): string {
  const line = '='.repeat(WIDTHS.reduce((a, b) => a + b, 0));
  const cells = (a: string, b: string, c: string) => `${a.padEnd(WIDTHS[0])}${b.padEnd(WIDTHS[1])}${c.padStart(WIDTHS[2])}`;
  const body = rows.map((r) => {
    const label = r.depth === 0 ? r.type : `${'│ '.repeat(r.depth - 1)}├─${r.local}: ${r.type}`;
    // A row whose submodules are cut off by `depth` carries their parameters, as in torchinfo.
    const params = r.depth === maxDepth ? r.totalParams : r.params;
    return cells(label, `[${r.outputShape.join(', ')}]`, params ? count(params) : '--');
  });
  return [
    line,
    cells('Layer (name: type)', 'Output Shape', 'Param #'),
    line,
    ...body,
    line,
    `Total params: ${count(total)}`,
    `Trainable params: ${count(trainable)}`,
    `Non-trainable params: ${count(total - trainable)}`,
    line,
  ].join('\n');
}
