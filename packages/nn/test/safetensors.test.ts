import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { expectClose } from './helpers/close';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

describe('safetensors', () => {
  it('encode → decode round-trips names, dtypes, shapes, values and metadata; the layout follows the spec', () => {
    const bytes = nn.encodeSafetensors(
      {
        a: { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, -2, 3.5, 1e-30]) },
        b: { dtype: 'int32', shape: [3], data: new Int32Array([7, -8, 2147483647]) },
        c: { dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) },
      },
      { note: 'hello' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
    expect(header.b).toEqual({ dtype: 'I32', shape: [3], data_offsets: [16, 28] });
    expect(header.__metadata__).toEqual({ note: 'hello' });
    const back = nn.decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hello' });
    expect(Array.from(back.tensors.get('a')!.data)).toEqual(Array.from(new Float32Array([1, -2, 3.5, 1e-30])));
    expect(back.tensors.get('b')!.dtype).toBe('int32');
    expect(back.tensors.get('c')).toEqual({ dtype: 'float64', shape: [], data: new Float64Array([Math.PI]) });
  });

  it('reads F64, F16, BF16, I64 and U8 written by PyTorch', async () => {
    const { tensors } = await nn.loadSafetensors(fixture('dtypes.safetensors'));
    expect(Array.from(tensors.f64.dataSync())).toEqual([1.5, -2.25, 1e-300]);
    expect(tensors.f64.dtype).toBe('float64');
    expectClose(tensors.f16.dataSync(), [1, -0.5, 65504, 6.1035e-5], 'f16', 1e-3);
    expect(Array.from(tensors.bf16.dataSync())).toEqual([1, -3, 0.15625]);
    expect(tensors.i64.dtype).toBe('int32');
    expect(tensors.i64.arraySync()).toEqual([[0, -7], [123456, 2147483647]]);
    expect(Array.from(tensors.u8.dataSync())).toEqual([0, 255, 17]);
  });

  it('a PyTorch state dict loads into the same model and gives PyTorch\'s output', async () => {
    const io = JSON.parse(readFileSync(fixture('torch_model.json'), 'utf8'));
    const { tensors, metadata } = await nn.loadSafetensors(fixture('torch_model.safetensors'));
    expect(metadata.written_by).toMatch(/^torch /);
    expect(Object.keys(tensors)).toEqual(io.keys);
    const model = new nn.Sequential(
      new nn.Conv2d(3, 4, 3, { padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(64, 3),
    );
    model.loadStateDict(nn.fromPyTorchNames(tensors));
    model.eval();
    const y = model.forward(wg.tensor(io.input, io.inputShape));
    expect(y.shape).toEqual(io.outputShape);
    expectClose(y.dataSync(), io.output, 'output', 1e-4, 1e-5);
  });

  it('errors name what is wrong with a file', () => {
    const good = nn.encodeSafetensors({ a: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) } });
    expect(() => nn.decodeSafetensors(good.subarray(0, 4))).toThrow('too short');
    expect(() => nn.decodeSafetensors(good.subarray(0, good.length - 4))).toThrow('a [2] F32 needs 8 bytes, its offsets [0, 8] give 8 in a 4-byte data section');
    const bad = good.slice();
    bad[8] = 0x78;
    expect(() => nn.decodeSafetensors(bad)).toThrow('not valid JSON');
  });
});

describe('checkpoints', () => {
  it('save writes a temporary file and renames it: a failed save leaves the last good file intact', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-ckpt-'));
    const path = join(dir, 'model.safetensors');
    const model = nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 2 });
    await nn.saveCheckpoint(path, { model, epoch: 1 });
    const good = readFileSync(path);
    // A tensor whose read fails half-way through the save, as a crash would.
    const w = model.parameters()[3];
    const spy = vi.spyOn(w, 'data').mockRejectedValue(new Error('device lost'));
    await expect(nn.saveCheckpoint(path, { model, epoch: 2 })).rejects.toThrow('device lost');
    spy.mockRestore();
    expect(readFileSync(path).equals(good)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const loaded = await nn.loadCheckpoint(path, { model });
    expect(loaded.epoch).toBe(1);
  });

  it('load checks names, shapes and dtypes and says exactly what differs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-ckpt-'));
    const path = join(dir, 'ckpt.safetensors');
    await nn.saveCheckpoint(path, { model: nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 2 }) });
    const other = nn.simpleCnn({ blocks: 2, channels: [8, 4], inputSize: 8, numClasses: 2 });
    const err = await nn.loadCheckpoint(path, { model: other }).catch((e: Error) => e.message);
    expect(err).toContain('0.0.weight: shape [4,3,3,3] in the state, [8,3,3,3] in the model');
    expect(err).toContain('missing from the state: 1.0.weight');
    expect(err).toContain('0.1.weight: shape [4] in the state, [8] in the model');
    expect(err).toContain('not in the model: 2.weight, 2.bias');
    writeFileSync(join(dir, 'junk.safetensors'), 'not a checkpoint at all');
    await expect(nn.loadCheckpoint(join(dir, 'junk.safetensors'), { model: other })).rejects.toThrow(/safetensors/);
  });
});
