/** The pure parts of the generators: dispatch sizes, uniform packing, plans. */
import { describe, expect, it } from 'vitest';
import * as IR from '@webgrad/kernels-ir';
import * as K from '../src/index';
import { ops } from './all-kernels';

const f32At = (k: K.Kernel, i: number) => new DataView(k.params.buffer, k.params.byteOffset, k.params.byteLength).getFloat32(i * 4, true);
const i32At = (k: K.Kernel, i: number) => new DataView(k.params.buffer, k.params.byteOffset, k.params.byteLength).getInt32(i * 4, true);

describe('kernel plumbing', () => {
  it('folds large 1-D dispatches into y and never passes 65535 per dimension', () => {
    expect(K.linearDispatch(0, 256)).toEqual([0, 0, 0]);
    expect(K.linearDispatch(1, 256)).toEqual([1, 1, 1]);
    expect(K.linearDispatch(257, 256)).toEqual([2, 1, 1]);
    const [x, y, z] = K.linearDispatch(40_000_000, 256);
    expect(x).toBeLessThanOrEqual(K.MAX_GROUPS);
    expect(x * y * 256).toBeGreaterThanOrEqual(40_000_000);
    expect(z).toBe(1);
  });

  it('packs uniform fields in declaration order, padded to 16 bytes', () => {
    const k = K.unaryKernel(ops.clamp, 17, 'f32', 'f32', -Infinity, 0.25);
    expect(k.params.byteLength).toBe(16);
    expect(i32At(k, 0)).toBe(5); // vec4 items: ceil(17 / 4)
    expect(f32At(k, 1)).toBe(-Infinity);
    expect(f32At(k, 2)).toBe(0.25);
    expect(k.code).toContain('struct Params');
    expect(() => K.packParams([['n', 'i32', 2 ** 31]])).toThrow(/does not fit/);
  });

  it('packs each field as its 32-bit word: i32 in two\'s complement, u32 as is, f32 by its bits', () => {
    const words = K.packParams([['a', 'i32', -2], ['b', 'u32', 2 ** 32 - 1], ['c', 'f32', -0], ['d', 'f32', 1.5], ['e', 'i32', 7]]);
    expect(words).toBeInstanceOf(Uint32Array);
    expect(Array.from(words)).toEqual([0xfffffffe, 0xffffffff, 0x80000000, 0x3fc00000, 7, 0, 0, 0]);
  });

  it('kernels of one key share their code and access list; each packs its own uniforms', () => {
    const a = K.binaryKernel(ops.add, [3, 1, 17], [1, 5, 17], [3, 5, 17], 'f32', 'f32');
    const b = K.binaryKernel(ops.add, [9, 1, 4], [1, 2, 4], [9, 2, 4], 'f32', 'f32');
    expect(b.code).toBe(a.code);
    expect(b.storage).toBe(a.storage);
    expect(b.params).not.toBe(a.params);
    expect(Array.from(b.params)).not.toEqual(Array.from(a.params));
  });

  it('code depends on the variant only, so sizes share one compiled pipeline', () => {
    const a = K.binaryKernel(ops.add, [3, 1, 17], [1, 5, 17], [3, 5, 17], 'f32', 'f32');
    const b = K.binaryKernel(ops.add, [9, 1, 4], [1, 2, 4], [9, 2, 4], 'f32', 'f32');
    expect(a.key).toBe(b.key);
    expect(a.code).toBe(b.code);
    expect(Array.from(new Int32Array(a.params))).not.toEqual(Array.from(new Int32Array(b.params)));
    expect(K.binaryKernel(ops.add, [3], [3], [3], 'f32', 'f32').key).not.toBe(a.key);
  });

});

describe('dispatch sizes', () => {
  it('batch norm: one workgroup per channel for the reductions; folded grid-stride apply kernels past 65535 groups', () => {
    const big: IR.BatchNormShape = { n: 64, c: 300, s: 1024 }; // 19.7M elements > 65535 * 256
    for (const k of [K.batchNormStatsKernel(big, 1e-5), K.batchNormBackwardReduceKernel(big), K.batchNormSinglePassKernel(big, 1e-5, true, true, [], { stride: 320 }),
      K.batchNormBackwardSinglePassKernel(big, true, { stride: 320 })]) expect(k.dispatch).toEqual([300, 1, 1]);
    for (const k of [K.batchNormApplyKernel(big, true, true), K.batchNormBackwardApplyKernel(big, false)]) {
      const [x, y, z] = k.dispatch;
      expect(x).toBeLessThanOrEqual(K.MAX_GROUPS);
      expect(x * y * k.workgroupSize[0]).toBeGreaterThanOrEqual(64 * 300 * 1024);
      expect(z).toBe(1);
      expect(k.gridStride).toBe(true);
    }
    expect(K.batchNormApplyKernel(big, true, false).storage).toEqual(['read', 'read', 'read', 'read', 'read_write']);
    expect(K.batchNormBackwardApplyKernel(big, true).storage.length).toBe(8);
  });

  it('elementwise: one vec4 per invocation where contiguous, one element otherwise; grid-stride', () => {
    const k = K.unaryKernel(ops.exp, 10_000, 'f32', 'f32');
    expect(k.workgroupSize).toEqual([256, 1, 1]);
    expect(k.dispatch).toEqual([Math.ceil(2500 / 256), 1, 1]);
    expect(k.gridStride).toBe(true);
    expect(K.unaryKernel(ops.exp, 0, 'f32', 'f32').dispatch).toEqual([0, 0, 0]);
    expect(K.binaryKernel(ops.mul, [10_000], [10_000], [10_000], 'f32', 'f32').key).toContain('flat4');
    const bcast = K.binaryKernel(ops.mul, [100, 100], [1, 100], [100, 100], 'f32', 'f32');
    expect(bcast.key).toContain('/r2');
    expect(bcast.dispatch).toEqual([Math.ceil(10_000 / 256), 1, 1]);
    expect(K.reduceKernel('sum', [5, 5], [1], 'f32').gridStride).toBe(false);
  });

  it('reductions: a thread per output, or a workgroup per output for few long ones', () => {
    const many = K.reduceKernel('sum', [1000, 7], [1], 'f32');
    expect(many.key).toContain('/thread/');
    expect(many.dispatch).toEqual([Math.ceil(1000 / 64), 1, 1]);
    const few = K.reduceKernel('sum', [3, 5000], [1], 'f32');
    expect(few.key).toContain('/group/');
    expect(few.dispatch).toEqual([3, 1, 1]);
  });

  it('register matmul: R rows per workgroup, WG x V vec4 columns, batch in z', () => {
    const p: IR.MatmulParams = { batch: 3, m: 130, n: 129, k: 67, transA: false, transB: true, aBatchStride: 130 * 67, bBatchStride: 129 * 67 };
    const k = K.matmulRegistersKernel(p);
    const t = K.registerTile(130, Math.ceil(129 / 4), 67);
    expect(k.workgroupSize).toEqual([t.WG, 1, 1]);
    expect(k.dispatch).toEqual([Math.ceil(33 / (t.WG * t.V)), Math.ceil(130 / t.R), 3]);
    expect(K.matmulPackedSize(p)).toBe(3 * 67 * 132);
    expect(K.registerTile(1, 2, 5)).toEqual({ R: 1, V: 1, WG: 8 });
  });

  it('register tiles put lanes on rows when columns are few or the reduction short', () => {
    const narrow = K.registerTile(65_536, 1, 288);
    expect(narrow).toMatchObject({ rowLanes: true, V: 1, WG: 8 });
    expect(K.registerDispatch(narrow, 65_536, 1, 1)).toEqual([1, 65_536 / (narrow.R * narrow.WG), 1]);
    expect(K.registerTile(65_536, 8, 27)).toMatchObject({ rowLanes: true, V: 8 });
    expect(K.registerTile(65_536, 8, 576).rowLanes).toBeUndefined();
    expect(K.tileKey(narrow)).not.toBe(K.tileKey({ ...narrow, rowLanes: undefined }));
  });

  it('folds row blocks (register) or column tiles (tiled) past 65535 into the other dimension', () => {
    for (const t of [K.registerTile(2_000_000, 1, 9), K.registerTile(2_000_000, 1, 9, { rowLanes: false, R: 16, V: 1 })]) {
      const [x, y] = K.registerDispatch(t, 2_000_000, 1, 1);
      expect(y).toBeLessThanOrEqual(K.MAX_GROUPS);
      expect(x * y * t.R * (t.rowLanes ? t.WG : 1)).toBeGreaterThanOrEqual(2_000_000);
    }
    const t = K.registerTile(2_000_000, 1, 9);
    const [tx, ty] = K.tiledDispatch(128, 5_000_000, 1);
    expect(tx).toBeLessThanOrEqual(K.MAX_GROUPS);
    expect(tx * (ty / 2) * K.TILE).toBeGreaterThanOrEqual(5_000_000);
    expect(() => K.registerDispatch(t, 8, 1, 70_000)).toThrow(/batch/);
  });

  it('tiled matmul: 64x64 tiles of 16x16 invocations', () => {
    const k = K.matmulTiledKernel({ batch: 2, m: 65, n: 129, k: 3, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0 });
    expect(k.workgroupSize).toEqual([16, 16, 1]);
    expect(k.dispatch).toEqual([3, 2, 2]);
  });

  it('convolution plans: staging, packing and the GEMM over named buffers', () => {
    const c: IR.ConvParams = { batch: 2, inChannels: 8, outChannels: 12, groups: 2, inSize: [9, 9], kernel: [3, 3], outSize: [9, 9], stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
    const f = K.convForwardRegistersPlan(c, true);
    expect(f.steps.map((s) => s.buffers)).toEqual([['x', 'xs'], ['w', 'wp'], ['xs', 'wp', 'taps', 'bias', 'y']]);
    expect(f.temps).toEqual({ xs: 2 * 8 * 11 * 11, wp: 2 * 4 * 9 * 8 });
    expect(Array.from(f.tables.taps.build().slice(0, 4))).toEqual([0, 1, 2, 11]);
    const noPad = K.convForwardRegistersPlan({ ...c, padding: [0, 0], outSize: [7, 7] }, false);
    expect(noPad.steps).toHaveLength(2);
    const gw = K.convBackwardWeightRegistersPlan(c);
    expect(gw.tables.positions.build()).toHaveLength(2 * 81);
    const gx = K.convBackwardInputRegistersPlan({ ...c, stride: [2, 2], outSize: [5, 5] });
    expect(gx.temps.gys).toBe(2 * 12 * 11 * 11);
  });

  it('pooling and im2col: one invocation per output (forward) or per input (backward)', () => {
    const p: IR.PoolParams = { planes: 3, inSize: [5, 7], kernel: [2, 2], outSize: [3, 4], stride: [2, 2], padding: [1, 1], dilation: [1, 1], countIncludePad: true };
    expect(K.maxPoolKernel(p).dispatch).toEqual([1, 1, 1]);
    expect(K.maxPoolBackwardKernel(p).params.byteLength % 16).toBe(0);
    const c: IR.ConvParams = { batch: 2, inChannels: 3, outChannels: 4, groups: 1, inSize: [10, 10], kernel: [3, 3], outSize: [8, 8], stride: [1, 1], padding: [0, 0], dilation: [1, 1] };
    expect(K.im2colKernel(c).dispatch).toEqual([Math.ceil((2 * 27 * 64) / 256), 1, 1]);
    expect(K.col2imKernel(c).dispatch).toEqual([Math.ceil((2 * 3 * 100) / 256), 1, 1]);
  });
});
