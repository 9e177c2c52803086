/**
 * nn.exportOnnx and nn.importOnnx, op by op: every layer and op of the lab's models written
 * out, run in onnxruntime-node at another batch size than the trace's, compared with webgrad
 * (max error ≤ 1e-5 of the output's scale), then read back with importOnnx and compared
 * again. Then the files that must fail, and PyTorch's state-dict names.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { type ModelProto, decodeModel, encodeModel, int } from '../src/onnx/proto';
import { IMPORTED_OPS } from '../src/onnx/import';
import { ONNX_SCHEMA } from '../src/onnx/schema';
import { WEBGRAD_VERSION } from '../src/version';
import { renderSchema } from '../../../tools/onnx-schema';
import { relativeError, runOrt, runWebgrad, session } from './helpers/onnx';

/** A forward written by hand: the glue ops of custom models (residual adds, cat, clamp, softmax along a middle dim). */
class Glue extends nn.Module {
  conv = new nn.Conv2d(3, 4, 3, { padding: 1 });
  fc = new nn.Linear(8 * 2, 5);
  forward(x: wg.Tensor): wg.Tensor {
    const a = this.conv.forward(x);
    const b = wg.sigmoid(a).mul(2).sub(0.5);
    const c = wg.cat([a.add(b), wg.clamp(b, -0.2, 0.9)], 1); // [N, 8, H, W]
    const s = wg.softmax(c, 1).add(wg.logSoftmax(c, 2).mul(0.01));
    const pooled = s.mean([2, 3]); // [N, 8]
    const t = wg.narrow(s, 3, 1, 2).sum([2]).permute([0, 2, 1]).flatten(1) // [N, 2·8]
      .add(s.index([null, null, [0, null, 2], 1]).flatten(1)); // s[:, :, ::2, 1]: a stepped Slice
    const e = wg.expand(pooled.sum(1, true), [x.shape[0], 5]);
    return this.fc.forward(t).add(e).relu().neg().exp();
  }
}

/** A Linear on a 3-D input: MatMul + Add instead of Gemm. */
class Tokens extends nn.Module {
  fc = new nn.Linear(6, 4);
  bn = new nn.BatchNorm1d(4);
  forward(x: wg.Tensor): wg.Tensor {
    return this.bn.forward(this.fc.forward(x).permute([0, 2, 1]));
  }
}

type Case = { name: string; make: () => nn.Module; shape: number[]; ops: string[]; opset?: number };

const seq = (...m: nn.Module[]) => new nn.Sequential(...m);
const CASES: Case[] = [
  { name: 'Conv1d: stride, padding, dilation', make: () => seq(new nn.Conv1d(3, 4, 3, { stride: 2, padding: 2, dilation: 2 })), shape: [1, 3, 17], ops: ['Conv'] },
  {
    name: 'Conv2d: groups, per-dim stride, padding and dilation',
    make: () => seq(new nn.Conv2d(4, 6, [3, 2], { groups: 2, stride: [2, 1], padding: [1, 2], dilation: [1, 2] })),
    shape: [1, 4, 11, 13],
    ops: ['Conv'],
  },
  { name: 'Conv3d', make: () => seq(new nn.Conv3d(2, 3, [2, 3, 3], { stride: 2, padding: 1 })), shape: [1, 2, 6, 7, 8], ops: ['Conv'] },
  { name: "Conv2d padding 'same' with an even kernel (asymmetric pads)", make: () => seq(new nn.Conv2d(3, 4, 4, { padding: 'same', bias: false })), shape: [1, 3, 9, 9], ops: ['Conv'] },
  { name: 'Conv2d paddingMode reflect → Pad', make: () => seq(new nn.Conv2d(3, 4, 3, { padding: 2, dilation: 2, paddingMode: 'reflect' })), shape: [1, 3, 8, 9], ops: ['Pad', 'Conv'] },
  { name: 'Conv1d paddingMode replicate → Pad (edge)', make: () => seq(new nn.Conv1d(3, 4, 3, { padding: 1, paddingMode: 'replicate' })), shape: [1, 3, 10], ops: ['Pad', 'Conv'] },
  { name: 'Conv2d paddingMode circular → Pad (wrap, opset 19)', make: () => seq(new nn.Conv2d(3, 4, 3, { padding: 1, paddingMode: 'circular' })), shape: [1, 3, 7, 8], ops: ['Pad', 'Conv'], opset: 19 },
  {
    name: 'BatchNorm1d/2d/3d in eval (affine and not)',
    make: () => seq(new nn.Conv3d(2, 3, 1), new nn.BatchNorm3d(3), new nn.Flatten(2), new nn.BatchNorm1d(3, { affine: false }), new nn.Flatten(), new nn.Linear(3 * 27, 4), new nn.BatchNorm1d(4)),
    shape: [1, 2, 3, 3, 3],
    ops: ['BatchNormalization', 'Flatten', 'Gemm'],
  },
  {
    name: 'the activations of the op table',
    make: () =>
      seq(new nn.Linear(6, 6), new nn.LeakyReLU(0.2), new nn.ELU(0.7), new nn.SiLU(), new nn.GELU(), new nn.GELU('tanh'), new nn.Softplus(1.5), new nn.Softplus(), new nn.Hardtanh(-0.5, 0.6), new nn.Sigmoid(), new nn.Tanh(), new nn.ReLU(), new nn.Linear(6, 3), new nn.Softmax(1)),
    shape: [1, 6],
    ops: ['LeakyRelu', 'Elu', 'Sigmoid', 'Erf', 'Tanh', 'Softplus', 'Clip', 'Relu', 'Softmax'],
  },
  { name: 'GELU as opset 20 Gelu; LogSoftmax', make: () => seq(new nn.Linear(5, 5), new nn.GELU(), new nn.GELU('tanh'), new nn.LogSoftmax(-1)), shape: [1, 5], ops: ['Gelu', 'LogSoftmax'], opset: 20 },
  {
    name: 'max and average pooling 1-d/2-d/3-d (padding, stride, dilation, ceil mode)',
    make: () => seq(new nn.MaxPool3d(2), new nn.Flatten(1, 2), new nn.MaxPool2d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }), new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), new nn.AvgPool2d(2, { ceilMode: true }), new nn.Flatten(2), new nn.MaxPool1d(3, { stride: 2, padding: 1 }), new nn.AvgPool1d(2)),
    shape: [1, 2, 4, 22, 23],
    ops: ['MaxPool', 'AveragePool'],
  },
  { name: 'AvgPool3d', make: () => seq(new nn.AvgPool3d([2, 1, 2], { padding: [1, 0, 1] })), shape: [1, 2, 5, 3, 6], ops: ['AveragePool'] },
  { name: 'AdaptiveAvgPool2d to 1 and to a divisor', make: () => seq(new nn.AdaptiveAvgPool2d(2), new nn.AdaptiveAvgPool2d(1)), shape: [1, 3, 8, 6], ops: ['AveragePool', 'GlobalAveragePool'] },
  { name: 'Linear on a 3-D input, BatchNorm1d over [N, C, L]', make: () => new Tokens(), shape: [1, 5, 6], ops: ['MatMul', 'Add', 'Transpose', 'BatchNormalization'] },
  { name: 'Flatten, Dropout (omitted in eval), Identity', make: () => seq(new nn.Flatten(), new nn.Dropout(0.5), new nn.Identity(), new nn.Linear(12, 2)), shape: [1, 3, 2, 2], ops: ['Flatten', 'Gemm'] },
  {
    name: 'a custom forward: cat, clamp, sigmoid, softmax along dim 1, residual add, mean, narrow, permute',
    make: () => new Glue(),
    shape: [1, 3, 4, 4],
    ops: ['Concat', 'Clip', 'Sigmoid', 'Softmax', 'Transpose', 'ReduceSum', 'Slice', 'Add', 'Exp', 'Neg', 'Expand'],
  },
  { name: 'simpleCnn at opset 13', make: () => nn.simpleCnn({ channels: 4, inputSize: 8, numClasses: 3 }), shape: [1, 3, 8, 8], ops: ['Conv', 'MaxPool'], opset: 13 },
  { name: 'simpleCnn (avg pool) at opset 21', make: () => nn.simpleCnn({ channels: 4, inputSize: 8, numClasses: 3, pool: 'avg' }), shape: [1, 3, 8, 8], ops: ['AveragePool'], opset: 21 },
];

describe('exportOnnx, op by op, checked in onnxruntime and read back with importOnnx', () => {
  it.each(CASES)('$name', async ({ make, shape, ops, opset }) => {
    wg.manualSeed(3);
    const model = make();
    // A few training-mode passes give BatchNorm statistics that are not 0 and 1.
    wg.noGrad(() => {
      model.train();
      for (let i = 0; i < 2; i++) wg.tidy(() => void model.forward(wg.randn([4, ...shape.slice(1)]).mul(1.5).add(0.3)));
    });
    const bytes = await nn.exportOnnx(model, { inputShape: shape, opset });
    const proto = await decodeModel(bytes);
    const written = proto.graph!.node.map((n) => n.op_type);
    for (const op of ops) expect(written, `writes ${op}`).toContain(op);
    // Run at batch 3 (the trace's was 2): the batch dim is dynamic.
    const input = wg.randn([3, ...shape.slice(1)]);
    const x = input.dataSync() as Float32Array;
    const xShape = [...input.shape];
    const ours = await runWebgrad(model, x, xShape);
    const theirs = await runOrt(await session(bytes), x, xShape);
    expect(relativeError(theirs, ours)).toBeLessThanOrEqual(1e-5);
    const back = await nn.importOnnx(bytes);
    expect(relativeError(await runWebgrad(back, x, xShape), ours)).toBeLessThanOrEqual(1e-5);
    expect(Object.keys(back.stateDict())).toEqual(Object.keys(model.stateDict()).filter((k) => !k.endsWith('numBatchesTracked')));
  });

  it('writes opset 17 by default, IR 8, a dynamic batch dim, the names given, initializers under the state-dict names and a doc string with the version', async () => {
    const model = nn.simpleCnn({ channels: [4, 8], blocks: 2, inputSize: 8, numClasses: 3 });
    const m = await decodeModel(await nn.exportOnnx(model, { inputShape: [1, 3, 8, 8], inputName: 'image', outputName: 'logits' }));
    expect(m.opset_import.map((o) => [o.domain, int(o.version)])).toEqual([['', 17]]);
    expect(int(m.ir_version)).toBe(8);
    expect(m.producer_name).toBe('webgrad');
    expect(m.producer_version).toBe(WEBGRAD_VERSION);
    expect(m.doc_string).toContain(`webgrad ${WEBGRAD_VERSION}`);
    const g = m.graph!;
    expect(g.input.map((i) => i.name)).toEqual(['image']);
    expect(g.output.map((o) => o.name)).toEqual(['logits']);
    const dims = (v: (typeof g.input)[0]) => v.type!.tensor_type!.shape!.dim.map((d) => d.dim_param || int(d.dim_value));
    expect(dims(g.input[0])).toEqual(['batch', 3, 8, 8]);
    expect(dims(g.output[0])).toEqual(['batch', 3]);
    const params = Object.keys(model.stateDict()).filter((k) => !k.endsWith('numBatchesTracked'));
    expect(g.initializer.map((t) => t.name).filter((n) => !n!.startsWith('/'))).toEqual(params);
    expect(g.node.map((n) => n.name)).toContain('/0.0/Conv');
  });

  it('writes a file with { path } and reads it back by path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-onnx-'));
    const path = join(dir, 'm.onnx');
    const model = nn.mlp({ sizes: [4, 3, 2] });
    const bytes = await nn.exportOnnx(model, { inputShape: [1, 4], path });
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
    const back = await nn.importOnnx(path);
    expect(back.inputNames).toEqual(['input']);
    expect(String(back)).toContain('OnnxModel(opset 17');
  });

  it('a layer it cannot write is an error naming the layer, its path and the op', async () => {
    const custom = seq(new nn.Conv2d(3, 4, 3), new nn.Sequential(new nn.ReLU(), new nn.Pool2d(2, (w) => w.max(2))));
    await expect(nn.exportOnnx(custom, { inputShape: [1, 3, 8, 8] })).rejects.toThrow(/layer '1\.1' \(Pool2d\) calls unfold, which webgrad cannot write as ONNX/);
    const noStats = seq(new nn.Conv2d(3, 4, 3), new nn.BatchNorm2d(4, { trackRunningStats: false }));
    await expect(nn.exportOnnx(noStats, { inputShape: [1, 3, 8, 8] })).rejects.toThrow(/layer '1' \(BatchNorm2d\) is a BatchNorm without running statistics/);
    const circular = seq(new nn.Conv2d(3, 4, 3, { padding: 1, paddingMode: 'circular' }));
    await expect(nn.exportOnnx(circular, { inputShape: [1, 3, 8, 8] })).rejects.toThrow(/layer '0' \(Conv2d\) pads circularly, which ONNX's Pad can do from opset 19/);
    await expect(nn.exportOnnx(seq(new nn.AdaptiveAvgPool2d(3)), { inputShape: [1, 3, 8, 8] })).rejects.toThrow(/layer '0' \(AdaptiveAvgPool2d\) pools 8×8 to 3×3/);
    await expect(nn.exportOnnx(custom, { inputShape: [1, 3, 8, 8], opset: 9 })).rejects.toThrow('opset 9 is not one webgrad writes (13 to 21');
  });

  it('an imported model trains: gradients reach every parameter, the loss falls, BatchNorm statistics move in train mode', async () => {
    wg.manualSeed(5);
    const original = nn.simpleCnn({ channels: [4, 8], blocks: 2, inputSize: 8, numClasses: 3 });
    const model = await nn.importOnnx(await nn.exportOnnx(original, { inputShape: [1, 3, 8, 8] }));
    const x = wg.randn([16, 3, 8, 8]);
    const y = wg.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 3), [16], { dtype: 'int32' });
    const opt = new nn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const mean0 = Array.from(model.stateDict()['0.1.runningMean'].dataSync());
    model.train();
    const losses: number[] = [];
    let memory: wg.MemoryStats | null = null;
    for (let i = 0; i < 8; i++) {
      const loss = wg.tidy(() => {
        const l = wg.crossEntropy(model.forward(x), y);
        opt.zeroGrad();
        l.backward();
        if (i === 0) for (const [k, p] of model.namedParameters()) expect(p.grad, k).not.toBeNull();
        opt.step();
        return l.detach();
      });
      losses.push(await loss.item());
      loss.dispose();
      // From the second step on (the optimizer's state exists), memory stays flat.
      if (i === 1) memory = wg.memoryStats();
    }
    expect(losses[7]).toBeLessThan(losses[0] * 0.8);
    const now = wg.memoryStats();
    expect([now.liveTensors, now.bytes]).toEqual([memory!.liveTensors, memory!.bytes]);
    expect(Array.from(model.stateDict()['0.1.runningMean'].dataSync())).not.toEqual(mean0);
  });
});

/** A small exported model, decoded, for damaging. */
async function exported(): Promise<ModelProto> {
  return await decodeModel(await nn.exportOnnx(nn.simpleCnn({ channels: 4, blocks: 1, inputSize: 8, numClasses: 3 }), { inputShape: [1, 3, 8, 8] }));
}

describe('importOnnx: damaged and unsupported files get an error naming the file and what is wrong', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-onnx-bad-'));
  const file = (name: string, bytes: Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };

  it('a truncated file', async () => {
    const bytes = await encodeModel(await exported());
    const path = file('truncated.onnx', bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(nn.importOnnx(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a readable ONNX model \\(\\d+ bytes; truncated or not ONNX\\)`));
  });

  it('a file that is not ONNX at all', async () => {
    const path = file('notes.onnx', new TextEncoder().encode('these are not the weights you are looking for'));
    await expect(nn.importOnnx(path)).rejects.toThrow(path);
  });

  it('an unknown op names the op, its node and the opset', async () => {
    const m = await exported();
    m.graph!.node[1].op_type = 'FancyNorm';
    m.graph!.node[1].name = '/0.0/Fancy';
    const path = file('unknown-op.onnx', await encodeModel(m));
    await expect(nn.importOnnx(path)).rejects.toThrow(`${path} (opset 17): 1 node(s) use ops importOnnx does not implement: FancyNorm (node '/0.0/Fancy')`);
  });

  it('a wrong opset', async () => {
    for (const version of [7, 99]) {
      const m = await exported();
      m.opset_import = [{ domain: '', version }];
      const path = file(`opset-${version}.onnx`, await encodeModel(m));
      await expect(nn.importOnnx(path)).rejects.toThrow(`${path}: opset ${version} is outside the opsets importOnnx reads (11 to 21)`);
    }
    const m = await exported();
    m.opset_import = [{ domain: 'com.example', version: 1 }];
    await expect(nn.importOnnx(file('no-opset.onnx', await encodeModel(m)))).rejects.toThrow('declares no opset for the default ONNX domain');
  });

  it('an initializer whose data does not match its dims', async () => {
    const m = await exported();
    const w = m.graph!.initializer[0];
    w.dims = [4, 3, 3, 4];
    const path = file('wrong-size.onnx', await encodeModel(m));
    await expect(nn.importOnnx(path)).rejects.toThrow(`${path} (opset 17): initializer '0.0.weight' has dims [4,3,3,4] (144 values of 4 bytes) but holds 432 bytes: the file is damaged or was cut`);
  });

  it('a missing file', async () => {
    await expect(nn.importOnnx(join(dir, 'absent.onnx'))).rejects.toThrow(/absent\.onnx: cannot be read: ENOENT/);
  });

  it('implements the op set it is documented to', () => {
    for (const op of ['Conv', 'BatchNormalization', 'Gemm', 'MatMul', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Elu', 'Softplus', 'Erf', 'Gelu', 'Clip', 'Softmax', 'LogSoftmax', 'Flatten', 'Reshape', 'Concat', 'Add', 'Mul', 'Sub', 'Div', 'Pad', 'Transpose', 'Slice', 'Dropout', 'Identity', 'Constant', 'ConstantOfShape', 'Cast', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'ReduceMean', 'ReduceSum', 'Expand']) {
      expect(IMPORTED_OPS, op).toContain(op);
    }
  });
});

describe("PyTorch's state-dict names", () => {
  it("stateDict({ names: 'pytorch' }) writes torch's names; fromPyTorchNames inverts them for every lab model", () => {
    const m = nn.simpleCnn({ channels: 4, blocks: 1, inputSize: 8, numClasses: 3 });
    expect(Object.keys(m.stateDict({ names: 'pytorch' }))).toEqual([
      '0.0.weight', '0.0.bias', '0.1.weight', '0.1.bias', '0.1.running_mean', '0.1.running_var', '0.1.num_batches_tracked', '2.weight', '2.bias',
    ]);
    for (const model of [nn.resnet18({ width: 2 }), nn.dilatedResNet({ width: 2 }), nn.alexnet({ width: 0.05, inputSize: 64 }), nn.dilatedCnn({ channels: 2 })]) {
      const names = Object.keys(model.stateDict());
      expect(Object.keys(nn.fromPyTorchNames(nn.toPyTorchNames(model.stateDict())))).toEqual(names);
      expect(Object.keys(model.stateDict({ names: 'pytorch' }))).toEqual(names.map(nn.toPyTorchName));
    }
    expect(Object.keys(nn.resnet18({ width: 2 }).stateDict({ names: 'pytorch' }))).toContain('layer2.0.downsample.1.running_var');
  });

  it("loadStateDict(..., { names: 'pytorch', strict: true }) lists every missing, unexpected and wrong-shaped key in PyTorch's names", () => {
    const m = nn.simpleCnn({ channels: 4, blocks: 1, inputSize: 8, numClasses: 3 });
    const state = { ...m.stateDict({ names: 'pytorch' }) };
    delete state['0.1.running_var'];
    delete state['2.bias'];
    state['0.1.extra_stat'] = wg.zeros([4]);
    state['2.weight'] = wg.zeros([3, 17]);
    let message = '';
    try {
      m.loadStateDict(state, { names: 'pytorch', strict: true });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('3 difference(s)');
    expect(message).toContain('2.weight: shape [3,17] in the state, [3,64] in the model');
    expect(message).toContain('missing from the state: 0.1.running_var, 2.bias');
    expect(message).toContain('not in the model: 0.1.extra_stat');
    const ok = { ...m.stateDict({ names: 'pytorch' }) };
    expect(m.loadStateDict(ok, { names: 'pytorch', strict: true })).toEqual({ missingKeys: [], unexpectedKeys: [] });
  });
});

describe('the ONNX schema and version', () => {
  it('schema.ts is what tools/onnx-schema.ts makes of the official onnx.proto', () => {
    const proto = readFileSync(new URL('../src/onnx/onnx.proto', import.meta.url), 'utf8');
    expect(readFileSync(new URL('../src/onnx/schema.ts', import.meta.url), 'utf8')).toBe(renderSchema(proto));
    expect(Object.keys((ONNX_SCHEMA.nested as { onnx: { nested: object } }).onnx.nested)).toContain('ModelProto');
  });

  it('WEBGRAD_VERSION is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(WEBGRAD_VERSION).toBe(pkg.version);
  });
});
