/**
 * nn.exportOnnx: a model as an ONNX file, the way torch.onnx.export makes one — by tracing.
 * One forward pass in eval mode on an input of the given shape records the autograd graph
 * (every op with its inputs and, since `GradNode.attrs`, what it was called with); that graph
 * is then written out op by op. Three layers are written whole instead, as the single ONNX
 * node a reader expects: Linear (Gemm, or MatMul + Add), BatchNorm (BatchNormalization with
 * the running statistics) and AdaptiveAvgPool2d (GlobalAveragePool / AveragePool). Everything
 * else (residual adds, a functional relu, reflect padding's Pad, concatenations) follows from
 * the trace, so a model with a custom forward exports without writing anything for it.
 *
 * Parameters and buffers become initializers under their state-dict names; the input's first
 * dim is the dynamic 'batch'.
 */
import { type GradNode, type OpAttrs, type Tensor, isTensor, keep, randn, tidy, withGrad } from '@webgrad/tensor';
import type { Module } from '../module';
import { Linear } from '../layers/linear';
import { BatchNormNd } from '../layers/norm';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { AttrType, type AttributeProto, DataType, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto, encodeModel, irVersionFor } from './proto';
import { EXPORT_OPSETS, UNARY, BINARY } from './ops';
import { WEBGRAD_VERSION } from '../version';

export interface ExportOnnxOptions {
  /** The input's shape with the batch dim first, e.g. [1, 3, 32, 32]; the batch dim is exported as dynamic. */
  inputShape: readonly number[];
  /** ONNX opset of the default domain (default 17; 13 to 21). */
  opset?: number;
  /** Names of the graph's input and output (default 'input' and 'output'). */
  inputName?: string;
  outputName?: string;
  /** The graph's name (default: the model's class name). */
  graphName?: string;
}

export class OnnxExportError extends Error {}

type Attr = number | number[] | string | TensorProto;
const DEFAULT_OPSET = 17;

/** The ONNX model as bytes (browser-safe; the Node entry's exportOnnx can also write a file). */
export async function exportOnnxBytes(model: Module, opts: ExportOnnxOptions): Promise<Uint8Array> {
  return encodeModel(await buildOnnxModel(model, opts));
}

/** The ModelProto before encoding (for tests and for callers that want to add metadata). */
export async function buildOnnxModel(model: Module, opts: ExportOnnxOptions): Promise<ModelProto> {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < EXPORT_OPSETS[0] || opset > EXPORT_OPSETS[1]) {
    throw new OnnxExportError(`exportOnnx: opset ${opset} is not one webgrad writes (${EXPORT_OPSETS[0]} to ${EXPORT_OPSETS[1]}; default ${DEFAULT_OPSET})`);
  }
  const shape = opts.inputShape;
  if (!Array.isArray(shape) || shape.length < 1 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new OnnxExportError(`exportOnnx: inputShape must be positive integers with the batch dim first, e.g. [1, 3, 32, 32]; got ${JSON.stringify(shape)}`);
  }
  const names = new Map<Tensor, string>();
  for (const [name, t] of Object.entries(model.stateDict())) names.set(t, name);
  // Traced with a batch of at least 2, so that the batch dim is told apart from size-1 dims.
  const traceBatch = Math.max(2, shape[0]);
  const inputName = opts.inputName ?? 'input';
  const writer = new GraphWriter(model, opset, names, traceBatch, inputName);
  const outputName = opts.outputName ?? 'output';

  const modes = model.modules().map((m) => m.training);
  const device = model.parameters()[0]?.device;
  let outShape: number[] = [];
  let outBatched = false;
  let constants: [TensorProto, Tensor][] = [];
  const restore = instrument(model, writer);
  try {
    model.eval();
    constants = tidy(() =>
      withGrad(true, () => {
        const x = randn([traceBatch, ...shape.slice(1)], device ? { device } : {});
        x.requiresGrad_(true);
        writer.valueNames.set(x, inputName);
        const y = model.forward(x);
        if (!isTensor(y)) throw new OnnxExportError(`exportOnnx: ${model.constructor.name}.forward returned ${typeof y}, not a tensor`);
        outShape = [...y.shape];
        if (y === x) throw new OnnxExportError(`exportOnnx: ${model.constructor.name}.forward returns its input unchanged: there is nothing to export`);
        writer.finish(y, outputName);
        outBatched = writer.isBatched(y);
        return writer.constants.map(([v, t]) => [v, keep(t.clone())] as [TensorProto, Tensor]);
      }),
    );
  } finally {
    restore();
    model.modules().forEach((m, i) => (m.training = modes[i]));
  }

  const initializer: TensorProto[] = [];
  try {
    // In the state dict's order, so that an import lists its parameters as the model does.
    const order = [...names.values()];
    const params = [...writer.initializerTensors].sort((a, b) => order.indexOf(a[1]) - order.indexOf(b[1]));
    for (const [t, name] of params) initializer.push(await tensorProto(name, t));
    for (const [value, t] of constants) Object.assign(value, await tensorProto('', t), { name: undefined });
  } finally {
    for (const [, t] of constants) t.dispose();
  }

  const dims = (s: readonly number[], batched: boolean) => s.map((d, i) => (i === 0 && batched ? { dim_param: 'batch' } : { dim_value: d }));
  const info = (name: string, s: readonly number[], batched: boolean): ValueInfoProto => ({
    name,
    type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: dims(s, batched) } } },
  });
  return {
    ir_version: irVersionFor(opset),
    opset_import: [{ domain: '', version: opset }],
    producer_name: 'webgrad',
    producer_version: WEBGRAD_VERSION,
    doc_string: `Exported by webgrad ${WEBGRAD_VERSION} (nn.exportOnnx) from ${model.constructor.name}, input [${shape.join(', ')}] with a dynamic batch dim`,
    graph: {
      name: opts.graphName ?? model.constructor.name,
      node: writer.nodes,
      initializer,
      input: [info(inputName, shape, true)],
      output: [info(outputName, outShape, outBatched)],
    },
  };
}

/** One call of a layer that is written whole (Linear, BatchNorm, AdaptiveAvgPool2d). */
interface LayerCall {
  module: Module;
  path: string;
  input: Tensor;
}

const isWholeLayer = (m: Module) => m instanceof Linear || m instanceof BatchNormNd || m instanceof AdaptiveAvgPool2d;

/**
 * Wraps every module's forward for the trace: the layers written whole record their calls,
 * and every op a forward records is attributed to the innermost module that ran it (for node
 * names and for errors that name the layer). Returns the function that undoes it.
 */
function instrument(model: Module, writer: GraphWriter): () => void {
  const patched: [Module, PropertyDescriptor | undefined][] = [];
  for (const [path, m] of model.namedModules()) {
    const original = m.forward;
    const wrapper = (...args: Tensor[]): Tensor => {
      const y = original.apply(m, args as [Tensor, ...Tensor[]]);
      if (isTensor(y) && !args.includes(y)) {
        if (isWholeLayer(m) && isTensor(args[0])) writer.layerCalls.set(y, { module: m, path, input: args[0] });
        writer.attribute(y, args, path, m);
      }
      return y;
    };
    patched.push([m, Object.getOwnPropertyDescriptor(m, 'forward')]);
    Object.defineProperty(m, 'forward', { value: wrapper, configurable: true, writable: true, enumerable: false });
  }
  return () => {
    for (const [m, own] of patched) {
      if (own) Object.defineProperty(m, 'forward', own);
      else delete (m as unknown as Record<string, unknown>).forward;
    }
  };
}

/** Where a traced tensor was made: the module path and class of the forward that made it. */
interface Place {
  path: string;
  type: string;
}

class GraphWriter {
  readonly nodes: NodeProto[] = [];
  readonly valueNames = new Map<Tensor, string>();
  readonly layerCalls = new Map<Tensor, LayerCall>();
  readonly initializerTensors = new Map<Tensor, string>();
  /** Tensors made during the trace that are neither parameters nor computed from the input (a scalar operand): Constant nodes whose value is read after the trace. */
  readonly constants: [TensorProto, Tensor][] = [];
  private readonly places = new Map<Tensor, Place>();
  /** Values computed from the input: their dim 0 is the dynamic batch. */
  private readonly batched = new Set<Tensor>();
  private readonly usedNames = new Set<string>();
  private readonly nodeCounts = new Map<string, number>();
  private current: Place = { path: '', type: '' };

  constructor(
    private readonly model: Module,
    readonly opset: number,
    private readonly paramNames: Map<Tensor, string>,
    private readonly batch: number,
    private readonly inputName: string,
  ) {}

  /** Gives every op between a call's inputs and its output that has no place yet this module's. */
  attribute(output: Tensor, inputs: Tensor[], path: string, m: Module): void {
    const stop = new Set(inputs.filter(isTensor));
    const stack = [output];
    while (stack.length) {
      const t = stack.pop()!;
      if (stop.has(t) || this.places.has(t) || !t._node) continue;
      this.places.set(t, { path, type: m.constructor.name });
      stack.push(...t._node.inputs);
    }
  }

  isBatched(t: Tensor): boolean {
    return this.batched.has(t) || this.valueNames.get(t) === this.inputName;
  }

  finish(y: Tensor, outputName: string): void {
    const produced = this.value(y);
    const maker = this.nodes.find((n) => n.output[0] === produced);
    if (!maker) {
      // The output is an initializer or the input itself: an Identity gives it the output's name.
      this.node('Identity', [produced], {}, outputName, this.places.get(y) ?? { path: '', type: this.model.constructor.name });
      return;
    }
    maker.output[0] = outputName;
    for (const n of this.nodes) n.input = n.input.map((i) => (i === produced ? outputName : i));
  }

  // --- values ---------------------------------------------------------------------------

  /** The ONNX name of a traced tensor, writing whatever makes it first. */
  value(t: Tensor): string {
    const known = this.valueNames.get(t);
    if (known !== undefined) return known;
    // Iteratively: a deep network's chain would overflow the stack if written recursively.
    const pending: [Tensor, boolean][] = [[t, false]];
    while (pending.length) {
      const [cur, ready] = pending.pop()!;
      if (this.valueNames.has(cur)) continue;
      const deps = this.dependencies(cur);
      if (!ready && deps.some((d) => !this.valueNames.has(d))) {
        pending.push([cur, true], ...deps.filter((d) => !this.valueNames.has(d)).map((d) => [d, false] as [Tensor, boolean]));
        continue;
      }
      this.valueNames.set(cur, this.write(cur));
      if (deps.some((d) => this.batched.has(d) || this.valueNames.get(d) === this.inputName)) this.batched.add(cur);
    }
    return this.valueNames.get(t)!;
  }

  private dependencies(t: Tensor): Tensor[] {
    const call = this.layerCalls.get(t);
    if (call) return [call.input];
    return t._node?.inputs ?? [];
  }

  /** Writes the node(s) that make t (its inputs are written) and returns its name. */
  private write(t: Tensor): string {
    const call = this.layerCalls.get(t);
    if (call) return this.writeLayer(call, t);
    const param = this.paramNames.get(t);
    if (param !== undefined) {
      this.initializerTensors.set(t, param);
      return param;
    }
    if (!t._node) {
      // A tensor the forward made without a graph: a constant (a number operand, a mask of ones),
      // unless it carries the batch: then it came from an op with no gradient (sign, argmax, a
      // comparison) applied to the input, and writing its traced value would be wrong.
      const place = this.places.get(t) ?? this.current;
      if (t.rank >= 2 && t.shape[0] === this.batch) {
        this.fail(`makes a [${t.shape}] tensor without a gradient (an op such as sign, argmax or a comparison on the input): the trace cannot follow it, so it cannot be exported`, place);
      }
      const value: TensorProto = { dims: [...t.shape], data_type: t.dtype === 'int32' ? DataType.INT32 : DataType.FLOAT };
      this.constants.push([value, t]);
      this.current = place;
      return this.node('Constant', [], { value });
    }
    return this.writeOp(t, t._node);
  }

  // --- nodes ----------------------------------------------------------------------------

  private unique(name: string): string {
    let n = name;
    for (let i = 1; this.usedNames.has(n); i++) n = `${name}_${i}`;
    this.usedNames.add(n);
    return n;
  }

  /** Appends a node named like PyTorch's (/features.0/Conv) and returns its output's name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr>, output?: string, place = this.current): string {
    const base = `/${place.path ? `${place.path}/` : ''}${op}`;
    const count = this.nodeCounts.get(base) ?? 0;
    this.nodeCounts.set(base, count + 1);
    const name = count ? `${base}_${count}` : base;
    const out = output ?? this.unique(`${name}_output_0`);
    this.nodes.push({ name, op_type: op, input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) });
    return out;
  }

  /**
   * A Constant node (shapes, pads, axes, a composite activation's scalars), as torch.onnx
   * writes them: initializers are the model's parameters and buffers only.
   */
  private constant(label: string, value: TensorProto): string {
    return this.node('Constant', [], { value }, this.unique(`${this.current.path ? `/${this.current.path}/` : '/'}${label}`));
  }

  /** An int64 constant. */
  ints(label: string, values: readonly number[]): string {
    return this.constant(label, { dims: [values.length], data_type: DataType.INT64, int64_data: [...values] });
  }

  /** A float32 scalar constant. */
  scalar(label: string, v: number): string {
    return this.constant(label, { dims: [], data_type: DataType.FLOAT, float_data: [v] });
  }

  floats(label: string, values: number[]): string {
    return this.constant(label, { dims: [values.length], data_type: DataType.FLOAT, float_data: values });
  }

  fail(what: string, place = this.current): never {
    const where = place.path ? `layer '${place.path}' (${place.type})` : `the model's own forward (${place.type || this.model.constructor.name})`;
    throw new OnnxExportError(`exportOnnx: ${where} ${what}`);
  }

  // --- whole layers -----------------------------------------------------------------------

  private writeLayer(call: LayerCall, out: Tensor): string {
    this.current = { path: call.path, type: call.module.constructor.name };
    const x = this.valueNames.get(call.input)!;
    const m = call.module;
    if (m instanceof Linear) {
      const w = this.value(m.weight);
      const b = m.bias ? this.value(m.bias) : null;
      if (call.input.rank === 2) return this.node('Gemm', b ? [x, w, b] : [x, w], { alpha: 1, beta: 1, transB: 1 });
      const y = this.node('MatMul', [x, this.node('Transpose', [w], { perm: [1, 0] })], {});
      return b ? this.node('Add', [y, b], {}) : y;
    }
    if (m instanceof BatchNormNd) {
      if (!m.runningMean || !m.runningVar) {
        this.fail('is a BatchNorm without running statistics (trackRunningStats: false): it normalises with each batch\'s own statistics in eval too, which ONNX\'s BatchNormalization cannot do');
      }
      const c = m.numFeatures;
      const scale = m.weight ? this.value(m.weight) : this.floats('ones', new Array<number>(c).fill(1));
      const bias = m.bias ? this.value(m.bias) : this.floats('zeros', new Array<number>(c).fill(0));
      return this.node('BatchNormalization', [x, scale, bias, this.value(m.runningMean), this.value(m.runningVar)], {
        epsilon: m.eps,
        momentum: 1 - (m.momentum ?? 0.1),
      });
    }
    if (m instanceof AdaptiveAvgPool2d) {
      const [h, w] = call.input.shape.slice(-2);
      const [oh, ow] = out.shape.slice(-2);
      if (call.input.rank !== 4) this.fail(`pools an unbatched input [${call.input.shape}]: export with a batch dim`);
      if (oh === 1 && ow === 1) return this.node('GlobalAveragePool', [x], {});
      if (h % oh || w % ow) this.fail(`pools ${h}×${w} to ${oh}×${ow}, whose windows are not all the same size: ONNX has no adaptive pooling (give an output size that divides the input, as torch.onnx.export requires too)`);
      return this.node('AveragePool', [x], { kernel_shape: [h / oh, w / ow], strides: [h / oh, w / ow] });
    }
    return this.fail('is not a layer webgrad writes whole (library bug)');
  }

  // --- ops of the trace --------------------------------------------------------------------

  private writeOp(t: Tensor, node: GradNode): string {
    this.current = this.places.get(t) ?? { path: '', type: this.model.constructor.name };
    const a = node.attrs ?? {};
    const x = node.inputs[0];
    const ins = node.inputs.map((i) => this.valueNames.get(i)!);
    const op = node.op;
    const unary = UNARY[op];
    if (unary) return unary.write(this, ins[0], a);
    const binary = BINARY[op];
    if (binary) return this.node(binary, ins, {});
    switch (op) {
      case 'conv1d':
      case 'conv2d':
      case 'conv3d': {
        if (x.rank !== node.inputs[1].rank) this.fail(`convolves an unbatched input [${x.shape}]: export with a batch dim`);
        const before = a.padBefore as number[];
        const after = a.padAfter as number[];
        return this.node('Conv', ins, {
          kernel_shape: node.inputs[1].shape.slice(2),
          strides: [...(a.stride as number[])],
          pads: [...before, ...after],
          dilations: [...(a.dilation as number[])],
          group: a.groups as number,
        });
      }
      case 'pad':
        return this.pad(ins[0], x, a);
      case 'maxPool1d':
      case 'maxPool2d':
      case 'maxPool3d':
      case 'avgPool1d':
      case 'avgPool2d':
      case 'avgPool3d': {
        const k = a.kernel as number[];
        if (x.rank !== k.length + 2) this.fail(`pools an unbatched input [${x.shape}]: export with a batch dim`);
        const common = { kernel_shape: [...k], strides: [...(a.stride as number[])], pads: [...(a.padding as number[]), ...(a.padding as number[])], ceil_mode: a.ceilMode ? 1 : 0 };
        if (op.startsWith('max')) return this.node('MaxPool', ins, { ...common, dilations: [...(a.dilation as number[])] });
        return this.node('AveragePool', ins, { ...common, count_include_pad: a.countIncludePad ? 1 : 0 });
      }
      case 'reshape':
        return this.reshape(ins[0], x, t);
      case 'clone':
      case 'to':
        return ins[0];
      case 'cast':
        return this.node('Cast', ins, { to: t.dtype === 'int32' ? DataType.INT32 : t.dtype === 'float64' ? DataType.DOUBLE : DataType.FLOAT });
      case 'softmax':
        return this.node('Softmax', ins, { axis: -1 });
      case 'logSoftmax':
        return this.node('LogSoftmax', ins, { axis: -1 });
      case 'permute':
        return this.node('Transpose', ins, { perm: [...(a.dims as number[])] });
      case 'cat':
        return this.node('Concat', ins, { axis: a.dim as number });
      case 'matmul': {
        const [l, r] = [a.transA ? this.node('Transpose', [ins[0]], { perm: [0, 2, 1] }) : ins[0], a.transB ? this.node('Transpose', [ins[1]], { perm: [0, 2, 1] }) : ins[1]];
        return this.node('MatMul', [l, r], {});
      }
      case 'slice': {
        const starts = a.starts as number[];
        // index() with steps records them; plain slices have none.
        const steps = (a.steps as number[] | undefined) ?? starts.map(() => 1);
        const axes = t.shape.map((_, i) => i).filter((i) => starts[i] !== 0 || t.shape[i] !== x.shape[i] || steps[i] !== 1);
        if (axes.includes(0) && this.isBatched(x)) this.fail(`slices the batch dim (${x.shape[0]} → ${t.shape[0]}), which is dynamic in the export`);
        if (!axes.length) return ins[0];
        const bounds = [this.ints('starts', axes.map((i) => starts[i])), this.ints('ends', axes.map((i) => starts[i] + (t.shape[i] - 1) * steps[i] + 1)), this.ints('axes', axes)];
        return this.node('Slice', [ins[0], ...bounds, ...(steps.some((s) => s !== 1) ? [this.ints('steps', axes.map((i) => steps[i]))] : [])], {});
      }
      case 'sum':
      case 'max':
      case 'min': {
        const dims = a.dims as number[];
        const keepdims = a.keepdim ? 1 : 0;
        const onnxOp = { sum: 'ReduceSum', max: 'ReduceMax', min: 'ReduceMin' }[op];
        // ReduceSum takes its axes as an input from opset 13, ReduceMax/Min from 18.
        if (op === 'sum' || this.opset >= 18) return this.node(onnxOp, [ins[0], this.ints('axes', dims)], { keepdims });
        return this.node(onnxOp, ins, { axes: [...dims], keepdims });
      }
      case 'expand':
        return this.node('Expand', [ins[0], this.ints('shape', this.isBatched(x) ? t.shape.map((d, i) => (d === x.shape[i] ? 1 : d)) : t.shape)], {});
      default:
        return this.fail(`calls ${op}, which webgrad cannot write as ONNX (it writes conv, pad, pooling, linear, batch norm, reshape/flatten, permute, cat, slice, sum/max/min, softmax, the elementwise ops ${[...Object.keys(BINARY), ...Object.keys(UNARY)].join(', ')})`);
    }
  }

  private pad(input: string, x: Tensor, a: OpAttrs): string {
    const perDim = a.pads as number[];
    const rank = x.rank;
    const before = Array.from({ length: rank }, (_, d) => perDim[2 * d]);
    const after = Array.from({ length: rank }, (_, d) => perDim[2 * d + 1]);
    if ((before[0] || after[0]) && this.isBatched(x)) this.fail('pads the batch dim, which is dynamic in the export');
    const mode = { constant: 'constant', reflect: 'reflect', replicate: 'edge', circular: 'wrap' }[a.mode as string] ?? String(a.mode);
    if (mode === 'wrap' && this.opset < 19) this.fail(`pads circularly, which ONNX's Pad can do from opset 19 (mode 'wrap'): export with { opset: 19 } or later`);
    const inputs = [input, this.ints('pads', [...before, ...after])];
    if (mode === 'constant' && a.value) inputs.push(this.scalar('pad_value', a.value as number));
    return this.node('Pad', inputs, { mode });
  }

  /** Flatten where it is one; otherwise Reshape, with 0 (copy) for a batch dim that stays first. */
  private reshape(input: string, x: Tensor, t: Tensor): string {
    const from = x.shape;
    const to = t.shape;
    if (from.length === to.length && from.every((d, i) => d === to[i])) return input;
    if (!this.isBatched(x)) return this.node('Reshape', [input, this.ints('shape', to)], {});
    if (to.length === 2 && to[0] === from[0] && from.length >= 2) return this.node('Flatten', [input], { axis: 1 });
    if (to[0] === from[0]) return this.node('Reshape', [input, this.ints('shape', [0, ...to.slice(1)])], {});
    return this.fail(`reshapes [${from}] to [${to}], moving the batch dim, which is dynamic in the export`);
  }
}

function attribute(name: string, v: Attr): AttributeProto {
  if (typeof v === 'string') return { name, type: AttrType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if (typeof v === 'object') return { name, type: AttrType.TENSOR, t: v };
  return Number.isInteger(v) && !FLOAT_ATTRS.has(name) ? { name, type: AttrType.INT, i: v } : { name, type: AttrType.FLOAT, f: v };
}

/** Attributes ONNX declares as floats even when the value is whole (alpha = 1). */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'momentum', 'gamma', 'min', 'max']);

async function tensorProto(name: string, t: Tensor): Promise<TensorProto> {
  const data = await t.data();
  if (t.dtype === 'int32') return { name, dims: [...t.shape], data_type: DataType.INT32, int32_data: Array.from(data) };
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  // raw_data: little-endian bytes, as onnx.numpy_helper writes them.
  const raw = new Uint8Array(f32.byteLength);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < f32.length; i++) view.setFloat32(4 * i, f32[i], true);
  return { name, dims: [...t.shape], data_type: DataType.FLOAT, raw_data: raw };
}
