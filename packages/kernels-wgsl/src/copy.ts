/**
 * The strided copies behind permute / expand / slice (`strided`) and cat (`writeStrided`).
 * Dims are merged where the strides allow, so most copies run at rank 1 to 3.
 */
import { linearDispatch, linearMain, makeKernel, type Kernel, type ScalarType } from './kernel';
import { mergeDims, sizeOf } from '@webgrad/kernels-ir';
import { walkFields, walkOffsets } from './strides';

const WG = 256;

/** out[i] = x[offset + sum_d idx_d(i) * strides[d]] over outShape. Bindings X, out. */
export function stridedKernel(outShape: readonly number[], strides: readonly number[], offset: number, type: ScalarType): Kernel {
  const m = mergeDims(outShape, [strides]);
  const rank = m.shape.length;
  const count = sizeOf(outShape);
  return makeKernel({
    key: `strided/${type}/r${rank}`,
    storage: [['X', 'read', type], ['Y', 'read_write', type]],
    fields: [['count', 'i32', count], ['offset', 'i32', offset], ...walkFields(m, ['x'])],
    build: () => linearMain(WG, `${walkOffsets(rank, ['x'])}  Y[i] = X[p.offset + o_x];`),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}

/** dst[dstOffset + sum_d idx_d(i) * dstStrides[d]] = src[i] over srcShape, in place. Bindings src, dst. */
export function writeStridedKernel(srcShape: readonly number[], dstStrides: readonly number[], dstOffset: number, type: ScalarType): Kernel {
  const m = mergeDims(srcShape, [dstStrides]);
  const rank = m.shape.length;
  const count = sizeOf(srcShape);
  return makeKernel({
    key: `writeStrided/${type}/r${rank}`,
    storage: [['S', 'read', type], ['D', 'read_write', type]],
    fields: [['count', 'i32', count], ['offset', 'i32', dstOffset], ...walkFields(m, ['d'])],
    build: () => linearMain(WG, `${walkOffsets(rank, ['d'])}  D[p.offset + o_d] = S[i];`),
    workgroupSize: WG,
    dispatch: linearDispatch(count, WG),
  });
}
