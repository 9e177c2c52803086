/**
 * torch.gather and its adjoint scatterAdd. WGSL has no float atomics, so scatterAdd runs
 * one invocation per OUTPUT element, looping over the index axis and summing the sources
 * whose index points at it: no two invocations write the same place.
 * Out-of-range indices (the cpu backend throws) read 0 in gather and are skipped in scatterAdd.
 */
import { linearDispatch, linearMain, makeKernel, type Field, type Kernel, type ScalarType } from './kernel';
import { sizeOf, stridesOf } from '@webgrad/kernels-ir';

const WG = 256;

/** out[.., i_axis, ..] = x[.., index[.., i_axis, ..], ..]; out has index's shape. Bindings X, I, out. */
export function gatherKernel(xShape: readonly number[], indexShape: readonly number[], axis: number, type: ScalarType): Kernel {
  const rank = indexShape.length;
  const xs = stridesOf(xShape);
  const count = sizeOf(indexShape);
  const fields: Field[] = [['count', 'i32', count], ['len', 'i32', rank ? xShape[axis] : 1], ['astride', 'i32', rank ? xs[axis] : 0]];
  for (let d = 0; d < rank; d++) fields.push([`s${d}`, 'i32', indexShape[d]], [`x${d}`, 'i32', d === axis ? 0 : xs[d]]);
  const build = () => {
    let body = '  var off = 0;\n';
    if (rank > 0) {
      body += '  var rem = i;\n';
      for (let d = rank - 1; d >= 1; d--) body += `  { let c = rem % p.s${d}; rem = rem / p.s${d}; off += c * p.x${d}; }\n`;
      body += '  off += rem * p.x0;\n';
    }
    body += '  let t = I[i];\n  Y[i] = select(0, X[max(off + t * p.astride, 0)], t >= 0 && t < p.len);';
    return linearMain(WG, body.replace('select(0,', `select(${type}(0),`));
  };
  return makeKernel({
    key: `gather/${type}/r${rank}`,
    storage: [['X', 'read', type], ['I', 'read', 'i32'], ['Y', 'read_write', type]],
    fields, build, workgroupSize: WG, dispatch: linearDispatch(count, WG),
  });
}

/** zeros(outShape), then out[.., index[i], ..] += src[i] (index and src share indexShape). Bindings S, I, out. */
export function scatterAddKernel(indexShape: readonly number[], outShape: readonly number[], axis: number, type: ScalarType): Kernel {
  const rank = outShape.length;
  const is = stridesOf(indexShape);
  const count = sizeOf(outShape);
  const fields: Field[] = [['count', 'i32', count], ['alen', 'i32', rank ? indexShape[axis] : 1], ['astride', 'i32', rank ? is[axis] : 0], ['empty', 'i32', sizeOf(indexShape) === 0 ? 1 : 0]];
  for (let d = 0; d < rank; d++) fields.push([`o${d}`, 'i32', outShape[d]], [`n${d}`, 'i32', indexShape[d]], [`x${d}`, 'i32', d === axis ? 0 : is[d]]);
  const build = () => {
    let body = `  var acc = ${type}(0);\n  var base = 0;\n  var inside = p.empty == 0;\n  var tgt = 0;\n`;
    if (rank > 0) {
      body += '  var rem = i;\n';
      for (let d = rank - 1; d >= 0; d--) {
        body += `  {\n    let c = ${d === 0 ? 'rem' : `rem % p.o${d}`};\n    rem = rem / p.o${d};\n`;
        body += d === axis ? '    tgt = c;\n' : `    inside = inside && c < p.n${d};\n    base += c * p.x${d};\n`;
        body += '  }\n';
      }
    }
    body += '  if (inside) {\n    for (var j = 0; j < p.alen; j++) {\n      let q = base + j * p.astride;\n      if (I[q] == tgt) { acc += S[q]; }\n    }\n  }\n  Y[i] = acc;';
    return linearMain(WG, body);
  };
  return makeKernel({
    key: `scatterAdd/${type}/r${rank}/a${rank ? axis : 0}`,
    storage: [['S', 'read', type], ['I', 'read', 'i32'], ['Y', 'read_write', type]],
    fields, build, workgroupSize: WG, dispatch: linearDispatch(count, WG),
  });
}
