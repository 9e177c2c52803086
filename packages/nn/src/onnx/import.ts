/**
 * nn.importOnnx: an ONNX graph as a webgrad Module that evaluates and trains. Float
 * initializers become Parameters (a BatchNormalization's mean and variance become buffers),
 * named as the file names them in PyTorch's spelling turned into webgrad's (running_mean →
 * runningMean), so `model.stateDict()` of an import of `nn.exportOnnx(m)` has m's keys.
 * Integer tensors (shapes, pads, axes: what torch.onnx writes to compute a reflect pad or a
 * view) are evaluated in JavaScript as the graph runs, since shapes are known on the host:
 * nothing is read back from the device.
 */
import {
  type Tensor, abs, adaptiveAvgPool2d, add, avgPool1d, avgPool2d, avgPool3d, batchNorm, cat, clamp, conv1d, conv2d, conv3d, cos, div, dropout,
  elu, erf, exp, expand, full, gelu, geluTanh, index, indexSelect, leakyRelu, log, logSoftmax, matmul, max, maximum, maxPool1d, maxPool2d, maxPool3d, mean, min, minimum,
  mul, neg, pad, permute, pow, reciprocal, relu, reshape, sigmoid, sign, sin, slice, softmax, softplus, sqrt, sub, sum, tanh, tensor,
} from '@webgrad/tensor';
import { Module } from '../module';
import { Parameter } from '../parameter';
import { fromPyTorchName } from '../checkpoint/names';
import { type AttributeProto, AttrType, DATA_TYPE_NAMES, DataType, type GraphProto, type ModelProto, type NodeProto, type TensorProto, decodeModel, defaultOpset, int } from './proto';
import { BINARY, IMPORT_OPSETS, ONE_TO_ONE } from './ops';

export interface ImportOnnxOptions {
  /** Where the parameters live (default cpu). */
  device?: string;
  /** What errors call the model (a file name); default 'the ONNX model'. */
  source?: string;
}

export class OnnxImportError extends Error {}

/** An integer (or small float constant) tensor kept in JavaScript: shapes, axes, pads, scalars. */
class Host {
  constructor(
    readonly shape: number[],
    readonly data: number[],
    readonly float = false,
  ) {}
  get size(): number {
    return this.data.length;
  }
}
type Value = Tensor | Host;
const isHost = (v: unknown): v is Host => v instanceof Host;

/** A node of the graph as the model runs it. */
interface Step {
  node: NodeProto;
  label: string;
  attrs: Map<string, AttributeProto>;
  run: OpFn;
}

type Ctx = { model: OnnxModel; node: NodeProto; attrs: Map<string, AttributeProto>; opset: number; fail: (what: string) => never };
type OpFn = (ctx: Ctx, inputs: (Value | undefined)[]) => Value[];

/** Holds the parameters and buffers of one dotted name prefix (`layer1.0.conv1`). */
export class OnnxScope extends Module {
  forward(): Tensor {
    throw new Error('OnnxScope holds parameters of an imported ONNX model: call the model, not its scopes');
  }
  /** @internal */
  setBuffer(name: string, t: Tensor): void {
    this.registerBuffer(name, t);
  }
}

/** An imported ONNX graph: `forward(x)` runs it; its initializers are parameters and buffers. */
export class OnnxModel extends OnnxScope {
  readonly inputNames: string[];
  readonly outputNames: string[];
  readonly opset: number;
  readonly producer: string;
  private readonly _steps: Step[];
  private readonly _values = new Map<string, Tensor | Host>();
  private readonly _source: string;

  /** @internal built by importOnnx */
  constructor(init: { graph: GraphProto; opset: number; producer: string; source: string; steps: Step[]; inputs: string[] }) {
    super();
    this.inputNames = init.inputs;
    this.outputNames = init.graph.output.map((o) => o.name);
    this.opset = init.opset;
    this.producer = init.producer;
    this._steps = init.steps;
    this._source = init.source;
  }

  /** @internal the initializer (or constant) value named `name`. */
  setValue(name: string, v: Tensor | Host): void {
    this._values.set(name, v);
  }

  /** Runs the graph; one input per graph input, and the graph must have one output (else forwardAll). */
  override forward(...inputs: Tensor[]): Tensor {
    if (this.outputNames.length !== 1) throw new Error(`${this._source}: the graph has ${this.outputNames.length} outputs (${this.outputNames.join(', ')}): use forwardAll()`);
    return this.forwardAll(...inputs)[0];
  }

  /** Every graph output, in the graph's order. */
  forwardAll(...inputs: Tensor[]): Tensor[] {
    if (inputs.length !== this.inputNames.length) {
      throw new Error(`${this._source}: the graph takes ${this.inputNames.length} input(s) (${this.inputNames.join(', ')}), got ${inputs.length}`);
    }
    const env = new Map<string, Value>(this._values);
    // The parameters are looked up now: to() and loadStateDict() may have replaced them.
    for (const [name, p] of this._paramsByValue()) env.set(name, p);
    this.inputNames.forEach((n, i) => env.set(n, inputs[i]));
    for (const step of this._steps) {
      const ins = step.node.input.map((n) => {
        if (n === '') return undefined;
        const v = env.get(n);
        if (v === undefined) throw new Error(`${this._source}: node ${step.label} reads '${n}', which nothing made`);
        return v;
      });
      const fail = (what: string): never => {
        throw new Error(`${this._source}: node ${step.label} ${what}`);
      };
      let outs: Value[];
      try {
        outs = step.run({ model: this, node: step.node, attrs: step.attrs, opset: this.opset, fail }, ins);
      } catch (err) {
        const msg = (err as Error).message;
        if (msg.startsWith(this._source)) throw err;
        throw new Error(`${this._source}: node ${step.label} failed: ${msg}`, { cause: err });
      }
      step.node.output.forEach((n, i) => {
        if (n !== '' && outs[i] !== undefined) env.set(n, outs[i]);
      });
    }
    return this.outputNames.map((n) => {
      const v = env.get(n);
      if (v === undefined) throw new Error(`${this._source}: the graph output '${n}' was never made`);
      return isHost(v) ? hostTensor(v, inputs[0]?.device) : v;
    });
  }

  /** @internal value name → the parameter or buffer now standing for it. */
  readonly _stateNames = new Map<string, string>();

  private _paramsByValue(): [string, Tensor][] {
    const state = this.stateDict();
    return [...this._stateNames].map(([value, key]) => [value, state[key]]);
  }

  override extraRepr(): string {
    return `opset ${this.opset}, ${this._steps.length} nodes, from ${this.producer || 'an unnamed producer'}`;
  }
}

/** The ONNX model in `bytes` as a webgrad module. */
export async function importOnnxBytes(bytes: Uint8Array, opts: ImportOnnxOptions = {}): Promise<OnnxModel> {
  const source = opts.source ?? 'the ONNX model';
  let m: ModelProto;
  try {
    m = await decodeModel(bytes);
  } catch (err) {
    throw new OnnxImportError(`${source}: not a readable ONNX model (${bytes.length} bytes; truncated or not ONNX): ${(err as Error).message}`);
  }
  const g = m.graph;
  if (!g || (!g.node.length && !g.output.length)) throw new OnnxImportError(`${source}: holds no graph (${bytes.length} bytes): not an ONNX model, or an empty one`);
  const opset = defaultOpset(m);
  if (opset === null) throw new OnnxImportError(`${source}: declares no opset for the default ONNX domain (opset_import: ${JSON.stringify(m.opset_import.map((o) => `${o.domain}:${int(o.version)}`))})`);
  if (opset < IMPORT_OPSETS[0] || opset > IMPORT_OPSETS[1]) {
    throw new OnnxImportError(`${source}: opset ${opset} is outside the opsets importOnnx reads (${IMPORT_OPSETS[0]} to ${IMPORT_OPSETS[1]}); re-export it with one of those (torch.onnx.export(..., opset_version=17))`);
  }
  const producer = [m.producer_name, m.producer_version].filter(Boolean).join(' ');
  const where = `${source} (opset ${opset})`;

  // Every op is known before anything is built: the error lists all unknown ones.
  const unknown = g.node.filter((n) => (n.domain && n.domain !== 'ai.onnx') || !OPS[n.op_type]);
  if (unknown.length) {
    const list = unknown.map((n) => `${n.domain ? `${n.domain}.` : ''}${n.op_type} (node '${n.name || '(unnamed)'}')`);
    throw new OnnxImportError(`${where}: ${unknown.length} node(s) use ops importOnnx does not implement: ${list.join(', ')}. It implements: ${Object.keys(OPS).sort().join(', ')}`);
  }
  const initNames = new Set(g.initializer.map((t) => t.name ?? ''));
  const inputs = g.input.map((i) => i.name).filter((n) => !initNames.has(n));

  // How each initializer is used decides what it becomes.
  const hostUse = new Set<string>();
  const bufferUse = new Set<string>();
  for (const n of g.node) {
    const host = HOST_INPUTS[n.op_type] ?? [];
    n.input.forEach((name, i) => {
      if (host.includes(i)) hostUse.add(name);
      if (n.op_type === 'BatchNormalization' && (i === 3 || i === 4)) bufferUse.add(name);
    });
  }

  // Constants are values (set below), not steps.
  const steps: Step[] = g.node
    .map((node, i) => ({ node, label: `'${node.name || `#${i}`}' (${node.op_type})`, attrs: new Map((node.attribute ?? []).map((a) => [a.name, a])), run: OPS[node.op_type] }))
    .filter((s) => s.node.op_type !== 'Constant');
  const model = new OnnxModel({ graph: g, opset, producer, source: where, steps, inputs });
  const device = opts.device ?? 'cpu';
  const placer = new Placer(model);
  for (const t of g.initializer) {
    const name = t.name ?? '';
    const v = readTensorProto(t, `${where}: initializer '${name}'`);
    if (isHost(v) || hostUse.has(name)) {
      model.setValue(name, isHost(v) ? v : new Host(v.shape, Array.from(v.data), true));
      continue;
    }
    const value = tensor(v.data, v.shape, { device });
    const key = placer.place(fromPyTorchName(name), value, bufferUse.has(name));
    model._stateNames.set(name, key);
  }
  for (const node of g.node) {
    if (node.op_type !== 'Constant') continue;
    const a = new Map((node.attribute ?? []).map((x) => [x.name, x]));
    model.setValue(node.output[0], constantValue(a, `${where}: node '${node.name}' (Constant)`));
  }
  return model;
}

/** Puts each parameter in an OnnxScope tree by its dotted name (or flat, when the name does not split cleanly). */
class Placer {
  private readonly taken = new Set<string>();
  constructor(private readonly root: OnnxModel) {}

  place(name: string, t: Tensor, buffer: boolean): string {
    const parts = name.split('.');
    const clean = parts.every((p) => /^[A-Za-z0-9_:]+$/.test(p));
    // A Module treats properties starting with '_' as private: such a name gets a 'p' in front.
    const path = clean && this.fits(parts) && !parts.some((p) => p.startsWith('_')) ? parts : [this.free(name.replace(/[^A-Za-z0-9_:]/g, '_').replace(/^_/, 'p_'))];
    let scope: OnnxScope = this.root;
    for (const p of path.slice(0, -1)) {
      const rec = scope as unknown as Record<string, unknown>;
      if (!(rec[p] instanceof OnnxScope)) rec[p] = new OnnxScope();
      scope = rec[p] as OnnxScope;
    }
    const leaf = path[path.length - 1];
    if (buffer) scope.setBuffer(leaf, t);
    else {
      // The parameter shares t's storage (counted): t itself is no longer needed.
      (scope as unknown as Record<string, unknown>)[leaf] = new Parameter(t);
      t.dispose();
    }
    const key = path.join('.');
    this.taken.add(key);
    return key;
  }

  /** Whether the dotted path neither collides with a name taken nor with a Module member. */
  private fits(parts: string[]): boolean {
    const key = parts.join('.');
    if (this.taken.has(key)) return false;
    for (const t of this.taken) if (t.startsWith(`${key}.`) || key.startsWith(`${t}.`)) return false;
    let scope: Record<string, unknown> = this.root as unknown as Record<string, unknown>;
    for (const [i, p] of parts.entries()) {
      const v = scope[p];
      if (i < parts.length - 1) {
        if (v === undefined) return true;
        if (!(v instanceof OnnxScope)) return false;
        scope = v as unknown as Record<string, unknown>;
      } else if (v !== undefined || p in scope) return false;
    }
    return true;
  }

  private free(base: string): string {
    let n = base;
    for (let i = 1; this.taken.has(n) || n in (this.root as object); i++) n = `${base}_${i}`;
    return n;
  }
}

// --- tensors in the file ------------------------------------------------------------------

/** A TensorProto's values: float types as a Float32Array tensor source, integer types as Host. */
function readTensorProto(t: TensorProto, what: string): Host | { shape: number[]; data: Float32Array } {
  const shape = (t.dims ?? []).map(int);
  const count = shape.reduce((a, b) => a * b, 1);
  const type = t.data_type ?? 0;
  if (t.data_location === 1) throw new OnnxImportError(`${what} keeps its data in an external file, which importOnnx does not read; save the model with its weights inside (onnx.save(..., save_as_external_data=False))`);
  const raw = t.raw_data && t.raw_data.length ? t.raw_data : null;
  const check = (n: number, unit: string) => {
    if (n !== count) throw new OnnxImportError(`${what} has dims [${shape}] (${count} values) but holds ${n} ${unit}: the file is damaged or was cut`);
  };
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const fromRaw = (bytes: number, get: (i: number) => number): number[] | Float32Array => {
    if (raw!.length !== count * bytes) throw new OnnxImportError(`${what} has dims [${shape}] (${count} values of ${bytes} bytes) but holds ${raw!.length} bytes: the file is damaged or was cut`);
    const out = type === DataType.FLOAT || type === DataType.DOUBLE || type === DataType.FLOAT16 ? new Float32Array(count) : new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = get(i);
    return out;
  };
  switch (type) {
    case DataType.FLOAT: {
      if (view) return { shape, data: fromRaw(4, (i) => view.getFloat32(4 * i, true)) as Float32Array };
      check(t.float_data?.length ?? 0, 'floats');
      return { shape, data: Float32Array.from(t.float_data ?? []) };
    }
    case DataType.DOUBLE: {
      if (view) return { shape, data: fromRaw(8, (i) => view.getFloat64(8 * i, true)) as Float32Array };
      check(t.double_data?.length ?? 0, 'doubles');
      return { shape, data: Float32Array.from(t.double_data ?? []) };
    }
    case DataType.FLOAT16: {
      if (view) return { shape, data: fromRaw(2, (i) => half(view.getUint16(2 * i, true))) as Float32Array };
      check(t.int32_data?.length ?? 0, 'halves');
      return { shape, data: Float32Array.from(t.int32_data ?? [], half) };
    }
    case DataType.INT64: {
      if (view) return new Host(shape, fromRaw(8, (i) => Number(view.getBigInt64(8 * i, true))) as number[]);
      check(t.int64_data?.length ?? 0, 'int64 values');
      return new Host(shape, (t.int64_data ?? []).map(int));
    }
    case DataType.INT32:
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.BOOL: {
      const bytes = type === DataType.INT32 ? 4 : 1;
      if (view) return new Host(shape, fromRaw(bytes, (i) => (bytes === 4 ? view.getInt32(4 * i, true) : type === DataType.INT8 ? view.getInt8(i) : view.getUint8(i))) as number[]);
      check(t.int32_data?.length ?? 0, 'values');
      return new Host(shape, [...(t.int32_data ?? [])]);
    }
    default:
      throw new OnnxImportError(`${what} has data type ${DATA_TYPE_NAMES[type] ?? type}, which importOnnx does not read (it reads FLOAT, DOUBLE, FLOAT16, INT64, INT32, INT8, UINT8, BOOL)`);
  }
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function constantValue(a: Map<string, AttributeProto>, what: string): Host {
  const t = a.get('value')?.t;
  if (t) {
    const v = readTensorProto(t, what);
    return isHost(v) ? v : new Host(v.shape, Array.from(v.data), true);
  }
  const f = a.get('value_float');
  if (f) return new Host([], [f.f ?? 0], true);
  const fs = a.get('value_floats');
  if (fs) return new Host([fs.floats!.length], [...fs.floats!], true);
  const i = a.get('value_int');
  if (i) return new Host([], [int(i.i)]);
  const is = a.get('value_ints');
  if (is) return new Host([is.ints!.length], is.ints!.map(int));
  throw new OnnxImportError(`${what} has none of value, value_float(s), value_int(s)`);
}

/** A Host value as a float tensor on `device` (constants meet tensors at run time). */
function hostTensor(h: Host, device = 'cpu'): Tensor {
  return tensor(Float32Array.from(h.data), h.shape, { device });
}

// --- attributes -----------------------------------------------------------------------------

const attrInt = (c: Ctx, name: string, d: number) => {
  const a = c.attrs.get(name);
  return a ? int(a.i) : d;
};
const attrFloat = (c: Ctx, name: string, d: number) => c.attrs.get(name)?.f ?? d;
const attrInts = (c: Ctx, name: string): number[] | null => {
  const a = c.attrs.get(name);
  return a && a.type === AttrType.INTS ? (a.ints ?? []).map(int) : null;
};
const attrString = (c: Ctx, name: string, d: string) => {
  const s = c.attrs.get(name)?.s;
  return s ? new TextDecoder().decode(s) : d;
};

// --- values at run time --------------------------------------------------------------------

function asTensor(c: Ctx, v: Value | undefined, like?: Value, what = 'input'): Tensor {
  if (v === undefined) c.fail(`needs its ${what}`);
  if (!isHost(v)) return v;
  const device = like && !isHost(like) ? like.device : (c.model.parameters()[0]?.device ?? 'cpu');
  return hostTensor(v, device);
}

function asInts(c: Ctx, v: Value | undefined, what: string): number[] {
  if (v === undefined) c.fail(`needs its ${what}`);
  if (!isHost(v)) c.fail(`computes its ${what} from a tensor on the device, which importOnnx cannot read while the graph runs (only constants and shapes)`);
  return v.data;
}

/** An operand for a binary op: a one-value constant as a number, else a tensor. */
function operand(c: Ctx, v: Value | undefined, other: Value | undefined): Tensor | number {
  if (isHost(v) && v.size === 1 && other !== undefined && !isHost(other) && v.shape.length <= other.rank) return v.data[0];
  return asTensor(c, v, other);
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const rankOf = (v: Value) => (isHost(v) ? v.shape.length : v.rank);
const shapeOf = (v: Value) => (isHost(v) ? v.shape : [...v.shape]);

function stridesOf(shape: number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Host-side element gather: out[idx] = data[src(idx)] over an output shape. */
function hostMap(h: Host, shape: number[], src: (idx: number[]) => number[]): Host {
  const out: number[] = [];
  const st = stridesOf(h.shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    const from = src(idx);
    out.push(h.data[from.reduce((a, v, i) => a + v * st[i], 0)]);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return new Host(shape, out, h.float);
}

/** Reshape's target with ONNX's 0 (copy, unless allowzero) and -1 (infer). */
function reshapeTarget(c: Ctx, from: number[], spec: number[]): number[] {
  const allowzero = attrInt(c, 'allowzero', 0) === 1;
  const shape = spec.map((d, i) => (d === 0 && !allowzero ? from[i] : d));
  const total = from.reduce((a, b) => a * b, 1);
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const i = shape.indexOf(-1);
  if (i >= 0) shape[i] = known ? total / known : 0;
  return shape;
}

function reshapeValue(v: Value, shape: number[]): Value {
  return isHost(v) ? new Host(shape, v.data, v.float) : reshape(v, shape);
}

/** ONNX's Conv/Pool padding: explicit pads, or auto_pad computed from the input size. */
function padsFor(c: Ctx, inSize: number[], kernel: number[], stride: number[], dilation: number[]): [number[], number[]] {
  const nd = inSize.length;
  const autoPad = attrString(c, 'auto_pad', 'NOTSET');
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = inSize.map((s, i) => Math.max(0, (Math.ceil(s / stride[i]) - 1) * stride[i] + (kernel[i] - 1) * dilation[i] + 1 - s));
    const small = total.map((t) => Math.floor(t / 2));
    return autoPad === 'SAME_UPPER' ? [small, total.map((t, i) => t - small[i])] : [total.map((t, i) => t - small[i]), small];
  }
  if (autoPad === 'VALID') return [new Array<number>(nd).fill(0), new Array<number>(nd).fill(0)];
  const pads = attrInts(c, 'pads') ?? new Array<number>(2 * nd).fill(0);
  return [pads.slice(0, nd), pads.slice(nd)];
}

/** Pads the spatial dims explicitly (for asymmetric padding that webgrad's ops take as one number per side). */
function padSpatial(x: Tensor, before: number[], after: number[], value = 0): Tensor {
  const pads: number[] = [];
  for (let i = before.length - 1; i >= 0; i--) pads.push(before[i], after[i]);
  return pad(x, pads, 'constant', value);
}

const CONV = [conv1d, conv2d, conv3d];
const MAXPOOL = [maxPool1d, maxPool2d, maxPool3d];
const AVGPOOL = [avgPool1d, avgPool2d, avgPool3d];

function pool(kind: 'max' | 'avg'): OpFn {
  return (c, [xv]) => {
    let x = asTensor(c, xv);
    const kernel = attrInts(c, 'kernel_shape') ?? c.fail('has no kernel_shape');
    const nd = kernel.length;
    if (nd < 1 || nd > 3 || x.rank !== nd + 2) c.fail(`pools ${nd}-D windows over an input [${x.shape}]`);
    const stride = attrInts(c, 'strides') ?? new Array<number>(nd).fill(1);
    const dilation = attrInts(c, 'dilations') ?? new Array<number>(nd).fill(1);
    let [before, after] = padsFor(c, x.shape.slice(2), kernel, stride, dilation);
    const ceilMode = attrInt(c, 'ceil_mode', 0) === 1;
    if (before.some((b, i) => b !== after[i] || b > Math.floor(kernel[i] / 2))) {
      if (kind === 'avg' && attrInt(c, 'count_include_pad', 0) === 0) c.fail(`pads asymmetrically ([${before}] before, [${after}] after) without counting the padding, which webgrad's avgPool cannot do`);
      x = padSpatial(x, before, after, kind === 'max' ? -Infinity : 0);
      before = after = new Array<number>(nd).fill(0);
    }
    if (kind === 'max') return [MAXPOOL[nd - 1](x, kernel, { stride, padding: before, dilation, ceilMode })];
    if (dilation.some((d) => d !== 1)) c.fail('dilates an average pooling, which webgrad does not');
    return [AVGPOOL[nd - 1](x, kernel, { stride, padding: before, ceilMode, countIncludePad: attrInt(c, 'count_include_pad', 0) === 1 })];
  };
}

/** Axes from an attribute (older opsets) or from input `i` (newer ones). */
function axesOf(c: Ctx, ins: (Value | undefined)[], i: number): number[] | null {
  return attrInts(c, 'axes') ?? (ins[i] !== undefined ? asInts(c, ins[i], 'axes') : null);
}

function reduce(kind: 'sum' | 'mean' | 'max' | 'min'): OpFn {
  return (c, ins) => {
    const x = asTensor(c, ins[0]);
    const keep = attrInt(c, 'keepdims', 1) === 1;
    let axes = axesOf(c, ins, 1);
    if (!axes || !axes.length) {
      if (attrInt(c, 'noop_with_empty_axes', 0) === 1) return [x];
      axes = x.shape.map((_, i) => i);
    }
    const dims = axes.map((a) => norm(a, x.rank));
    return [{ sum, mean, max, min }[kind](x, dims, keep)];
  };
}

function softmaxOp(log: boolean): OpFn {
  return (c, [xv]) => {
    const x = asTensor(c, xv);
    const f = log ? logSoftmax : softmax;
    if (c.opset >= 13) return [f(x, attrInt(c, 'axis', -1))];
    // Before opset 13: the input is coerced to 2-D at axis, and normalised along the second dim.
    const axis = norm(attrInt(c, 'axis', 1), x.rank);
    const rows = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
    return [reshape(f(reshape(x, [rows, x.size / rows]), 1), x.shape)];
  };
}

function elementwise(fn: (x: Tensor, ...a: number[]) => Tensor, attrs: [string, number][] = []): OpFn {
  return (c, [x]) => [fn(asTensor(c, x), ...attrs.map(([n, d]) => attrFloat(c, n, d)))];
}

const WEBGRAD_UNARY: Record<string, (x: Tensor, ...a: number[]) => Tensor> = {
  relu, sigmoid, tanh, exp, log, sqrt, neg, abs, sign, erf, sin, cos, reciprocal, leakyRelu, elu,
};
const WEBGRAD_BINARY: Record<string, (a: Tensor | number, b: Tensor | number) => Tensor> = { add, sub, mul, div, pow, maximum, minimum };
const HOST_BINARY: Record<string, (a: number, b: number) => number> = {
  Add: (a, b) => a + b, Sub: (a, b) => a - b, Mul: (a, b) => a * b, Div: (a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b), Pow: (a, b) => a ** b, Max: Math.max, Min: Math.min,
};

function binaryOp(onnx: string, fn: (a: Tensor | number, b: Tensor | number) => Tensor): OpFn {
  return (c, [a, b]) => {
    if (isHost(a) && isHost(b)) {
      const shape = a.size >= b.size ? a.shape : b.shape;
      const n = Math.max(a.size, b.size);
      if (a.size !== b.size && a.size !== 1 && b.size !== 1) c.fail(`broadcasts two constants [${a.shape}] and [${b.shape}], which importOnnx does only for equal shapes or a scalar`);
      const at = (h: Host, i: number) => h.data[h.size === 1 ? 0 : i];
      return [new Host(shape, Array.from({ length: n }, (_, i) => HOST_BINARY[onnx](at(a, i), at(b, i))), a.float || b.float)];
    }
    const ta = operand(c, a, b);
    const tb = operand(c, b, a);
    return [fn(ta, tb)];
  };
}

/** The ops importOnnx implements, by ONNX op type. */
const OPS: Record<string, OpFn> = {
  ...Object.fromEntries(
    Object.entries(ONE_TO_ONE).map(([wg, e]) => [e.onnx, elementwise(WEBGRAD_UNARY[wg], Object.values(e.attrs ?? {}).map(([o, d]) => [o, d] as [string, number]))]),
  ),
  ...Object.fromEntries(Object.entries(BINARY).map(([wg, onnx]) => [onnx, binaryOp(onnx, WEBGRAD_BINARY[wg])])),
  Softplus: elementwise((x) => softplus(x, 1, 20)),
  Gelu: (c, [x]) => [attrString(c, 'approximate', 'none') === 'tanh' ? geluTanh(asTensor(c, x)) : gelu(asTensor(c, x))],
  Clip: (c, [x, lo, hi]) => {
    const bound = (v: Value | undefined, d: number) => (v === undefined ? d : asInts(c, v, 'bound')[0]);
    return [clamp(asTensor(c, x), bound(lo, -Infinity), bound(hi, Infinity))];
  },
  Identity: (_c, [x]) => [x!],
  Dropout: (c, [x, ratio]) => {
    if (c.node.output.length > 1 && c.node.output[1]) c.fail('asks for its mask output, which importOnnx does not make');
    const p = ratio !== undefined ? asInts(c, ratio, 'ratio')[0] : attrFloat(c, 'ratio', 0.5);
    return [c.model.training && !isHost(x) ? dropout(x!, p, true) : x!];
  },
  Conv: (c, [xv, wv, bv]) => {
    let x = asTensor(c, xv);
    const w = asTensor(c, wv, xv, 'weight');
    const nd = w.rank - 2;
    if (nd < 1 || nd > 3) c.fail(`has a ${w.rank}-D weight [${w.shape}]; importOnnx convolves 1 to 3 spatial dims`);
    const kernel = attrInts(c, 'kernel_shape') ?? w.shape.slice(2);
    const stride = attrInts(c, 'strides') ?? new Array<number>(nd).fill(1);
    const dilation = attrInts(c, 'dilations') ?? new Array<number>(nd).fill(1);
    let [before, after] = padsFor(c, x.shape.slice(2), kernel, stride, dilation);
    if (before.some((b, i) => b !== after[i])) {
      x = padSpatial(x, before, after);
      before = new Array<number>(nd).fill(0);
    }
    return [CONV[nd - 1](x, w, bv === undefined ? null : asTensor(c, bv, xv, 'bias'), { stride, padding: before, dilation, groups: attrInt(c, 'group', 1) })];
  },
  MaxPool: pool('max'),
  AveragePool: pool('avg'),
  GlobalAveragePool: (c, [xv]) => {
    const x = asTensor(c, xv);
    if (x.rank === 4) return [adaptiveAvgPool2d(x, 1)];
    return [mean(x, x.shape.slice(2).map((_, i) => i + 2), true)];
  },
  GlobalMaxPool: (c, [xv]) => {
    const x = asTensor(c, xv);
    return [max(x, x.shape.slice(2).map((_, i) => i + 2), true)];
  },
  BatchNormalization: (c, [x, scale, bias, m, v]) => {
    if (attrInt(c, 'training_mode', 0) === 1) c.fail('is in training mode (training_mode = 1); export the model in eval mode');
    const t = (val: Value | undefined, what: string) => asTensor(c, val, x, what);
    return [batchNorm(t(x, 'input'), t(m, 'mean'), t(v, 'variance'), t(scale, 'scale'), t(bias, 'bias'), {
      training: c.model.training,
      momentum: 1 - attrFloat(c, 'momentum', 0.9),
      eps: attrFloat(c, 'epsilon', 1e-5),
    })];
  },
  Gemm: (c, [av, bv, cv]) => {
    const transA = attrInt(c, 'transA', 0) === 1;
    const transB = attrInt(c, 'transB', 0) === 1;
    const alpha = attrFloat(c, 'alpha', 1);
    const beta = attrFloat(c, 'beta', 1);
    let y = matmul(asTensor(c, av), asTensor(c, bv, av), { transA, transB });
    if (alpha !== 1) y = mul(y, alpha);
    if (cv !== undefined) y = add(y, beta === 1 ? operand(c, cv, y) : mul(asTensor(c, cv, av), beta));
    return [y];
  },
  MatMul: (c, [a, b]) => [matmul(asTensor(c, a, b), asTensor(c, b, a))],
  Softmax: softmaxOp(false),
  LogSoftmax: softmaxOp(true),
  Flatten: (c, [xv]) => {
    const s = shapeOf(xv!);
    const axis = norm(attrInt(c, 'axis', 1), s.length);
    const rows = s.slice(0, axis).reduce((a, b) => a * b, 1);
    return [reshapeValue(xv!, [rows, s.slice(axis).reduce((a, b) => a * b, 1)])];
  },
  Reshape: (c, [xv, sv]) => [reshapeValue(xv!, reshapeTarget(c, shapeOf(xv!), asInts(c, sv, 'shape')))],
  Transpose: (c, [xv]) => {
    const r = rankOf(xv!);
    const perm = attrInts(c, 'perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
    if (!isHost(xv)) return [permute(xv!, perm)];
    return [hostMap(xv, perm.map((p) => xv.shape[p]), (idx) => perm.map((_, d) => idx[perm.indexOf(d)]))];
  },
  Concat: (c, ins) => {
    const vals = ins.filter((v): v is Value => v !== undefined);
    const axis = norm(attrInt(c, 'axis', 0), rankOf(vals[0]));
    if (vals.every(isHost)) {
      if (vals.some((v) => v.shape.length !== 1)) c.fail('concatenates constants of rank other than 1, which importOnnx does not');
      return [new Host([vals.reduce((a, v) => a + v.size, 0)], vals.flatMap((v) => v.data), vals.some((v) => v.float))];
    }
    const like = vals.find((v) => !isHost(v));
    return [cat(vals.map((v) => asTensor(c, v, like)), axis)];
  },
  Shape: (c, [xv]) => {
    const s = shapeOf(xv!);
    const start = norm(attrInt(c, 'start', 0), s.length);
    const end = c.attrs.has('end') ? norm(attrInt(c, 'end', s.length), s.length) : s.length;
    const dims = s.slice(start, end);
    return [new Host([dims.length], dims)];
  },
  Gather: (c, [xv, iv]) => {
    const idx = iv!;
    if (!isHost(idx)) return c.fail('gathers with indices computed on the device, which importOnnx does not');
    const axis = norm(attrInt(c, 'axis', 0), rankOf(xv!));
    const size = shapeOf(xv!)[axis];
    const picks = idx.data.map((i) => (i < 0 ? i + size : i));
    if (isHost(xv)) {
      if (xv.shape.length !== 1) c.fail('gathers from a constant of rank other than 1');
      return [new Host(idx.shape, picks.map((i) => xv.data[i]), xv.float)];
    }
    const index = tensor(Int32Array.from(picks), [picks.length], { dtype: 'int32', device: xv!.device });
    const out = indexSelect(xv!, axis, index);
    const shape = [...xv!.shape.slice(0, axis), ...idx.shape, ...xv!.shape.slice(axis + 1)];
    return [reshape(out, shape)];
  },
  Unsqueeze: (c, ins) => {
    const s = shapeOf(ins[0]!);
    const given = axesOf(c, ins, 1) ?? c.fail('has no axes');
    // Negative axes count from the end of the output, whose rank is the input's plus the axes.
    const axes = given.map((a) => norm(a, s.length + given.length)).sort((a, b) => a - b);
    const out = [...s];
    for (const a of axes) out.splice(a, 0, 1);
    return [reshapeValue(ins[0]!, out)];
  },
  Squeeze: (c, ins) => {
    const s = shapeOf(ins[0]!);
    const axes = axesOf(c, ins, 1)?.map((a) => norm(a, s.length)) ?? s.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0);
    return [reshapeValue(ins[0]!, s.filter((_, i) => !axes.includes(i)))];
  },
  Slice: (c, ins) => {
    const xv = ins[0]!;
    const s = shapeOf(xv);
    const starts = asInts(c, ins[1], 'starts');
    const ends = asInts(c, ins[2], 'ends');
    const axes = ins[3] !== undefined ? asInts(c, ins[3], 'axes').map((a) => norm(a, s.length)) : starts.map((_, i) => i);
    const steps = ins[4] !== undefined ? asInts(c, ins[4], 'steps') : starts.map(() => 1);
    const begin = s.map(() => 0);
    const step = s.map(() => 1);
    const size = [...s];
    axes.forEach((a, i) => {
      const d = s[a];
      const st = steps[i];
      const clampTo = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      let b = starts[i] < 0 ? starts[i] + d : starts[i];
      let e = ends[i] < 0 ? ends[i] + d : ends[i];
      if (st > 0) {
        b = clampTo(b, 0, d);
        e = clampTo(e, 0, d);
        size[a] = Math.max(0, Math.ceil((e - b) / st));
      } else {
        b = clampTo(b, -1, d - 1);
        e = clampTo(e, -1, d - 1);
        size[a] = Math.max(0, Math.ceil((b - e) / -st));
      }
      begin[a] = b;
      step[a] = st;
    });
    if (isHost(xv)) return [hostMap(xv, size, (idx) => idx.map((v, d) => begin[d] + v * step[d]))];
    if (step.some((v) => v < 1)) c.fail(`slices a tensor with steps [${steps}], which importOnnx does only for constants when one is negative`);
    if (step.every((v) => v === 1)) return [slice(xv, begin, size)];
    return [index(xv, begin.map((b, d) => [b, b + size[d] * step[d], step[d]] as const))];
  },
  Cast: (c, [xv]) => {
    const to = attrInt(c, 'to', DataType.FLOAT);
    const float = to === DataType.FLOAT || to === DataType.DOUBLE || to === DataType.FLOAT16;
    if (isHost(xv)) return [new Host(xv.shape, float ? xv.data : xv.data.map(Math.trunc), float)];
    if (!float) c.fail(`casts a tensor on the device to ${DATA_TYPE_NAMES[to]}, which importOnnx does not`);
    return [xv!];
  },
  ConstantOfShape: (c, [sv]) => {
    const shape = asInts(c, sv, 'shape');
    const t = c.attrs.get('value')?.t;
    const v = t ? readTensorProto(t, 'value') : new Host([1], [0], true);
    const h = isHost(v) ? v : new Host(v.shape, Array.from(v.data), true);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!h.float || n <= 64) return [new Host(shape, new Array<number>(n).fill(h.data[0]), h.float)];
    return [full(shape, h.data[0], { device: c.model.parameters()[0]?.device ?? 'cpu' })];
  },
  Pad: (c, ins) => {
    const x = asTensor(c, ins[0]);
    const pads = asInts(c, ins[1], 'pads');
    const value = ins[2] !== undefined ? asInts(c, ins[2], 'constant_value')[0] : 0;
    const axes = ins[3] !== undefined ? asInts(c, ins[3], 'axes').map((a) => norm(a, x.rank)) : x.shape.map((_, i) => i);
    const before = x.shape.map(() => 0);
    const after = x.shape.map(() => 0);
    axes.forEach((a, i) => {
      before[a] = pads[i];
      after[a] = pads[i + axes.length];
    });
    if ([...before, ...after].some((p) => p < 0)) c.fail(`pads by negative amounts [${pads}] (a crop), which importOnnx does not`);
    const mode = attrString(c, 'mode', 'constant');
    const wgMode = ({ constant: 'constant', reflect: 'reflect', edge: 'replicate', wrap: 'circular' } as const)[mode as 'constant'];
    if (!wgMode) c.fail(`pads in mode '${mode}'; importOnnx reads constant, reflect, edge and wrap`);
    const torchPads: number[] = [];
    for (let d = x.rank - 1; d >= 0; d--) torchPads.push(before[d], after[d]);
    return [pad(x, torchPads, wgMode, value)];
  },
  Expand: (c, [xv, sv]) => {
    const x = asTensor(c, xv);
    const target = asInts(c, sv, 'shape');
    const rank = Math.max(x.rank, target.length);
    const from = [...new Array<number>(rank - x.rank).fill(1), ...x.shape];
    const to = [...new Array<number>(rank - target.length).fill(1), ...target].map((d, i) => (d === 1 ? from[i] : d));
    return [expand(reshape(x, from), to)];
  },
  ReduceSum: reduce('sum'),
  ReduceMean: reduce('mean'),
  ReduceMax: reduce('max'),
  ReduceMin: reduce('min'),
  // Read once at import time into the model's values (importOnnxBytes), never run.
  Constant: () => [],
};

/** Inputs that must be known in JavaScript (shapes, pads, axes, bounds): initializers feeding them stay constants. */
const HOST_INPUTS: Record<string, number[]> = {
  Reshape: [1], Slice: [1, 2, 3, 4], Pad: [1, 2, 3], Clip: [1, 2], Unsqueeze: [1], Squeeze: [1], ReduceSum: [1], ReduceMean: [1], ReduceMax: [1], ReduceMin: [1],
  ConstantOfShape: [0], Gather: [1], Dropout: [1, 2], Expand: [1],
};

/** Only for tests: the op types importOnnx implements. */
export const IMPORTED_OPS = Object.keys(OPS);
