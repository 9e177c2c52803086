/**
 * Hard-label cross-entropy over the rows of a [rows, cols] logits matrix, forward and
 * backward, the formulas of the cpu reference (tensor's backends/cpu/kernels/cross-entropy.ts).
 *
 * The forward of a classification head (tens of rows, tens of classes) is one dispatch of
 * one workgroup: its invocations take rows in turn and sum their losses in workgroup memory,
 * so the mean or sum costs no launch of its own ('group'). Larger inputs take one invocation
 * per row ('rows', writing the row losses), then crossEntropyTotalKernel for the mean or sum.
 */
import type { CrossEntropyParams } from '@webgrad/kernels-ir';
import { FLOAT_SPECIALS, linearDispatch, linearMain, makeKernel, type Field, type Kernel } from './kernel';

export type CrossEntropyMode = 'group' | 'rows';

const GROUP_WG = 256;
const ROWS_WG = 64;

/**
 * The most values (rows · cols) the one-workgroup forward takes: beyond, one workgroup's
 * loop over them costs more than the per-row kernel and the extra launch of the total.
 */
export const CROSS_ENTROPY_GROUP_MAX = 1 << 20;

export function crossEntropyMode(rows: number, cols: number): CrossEntropyMode {
  return rows * cols <= CROSS_ENTROPY_GROUP_MAX ? 'group' : 'rows';
}

/** What the mean multiplies the sum by: NaN for the mean of no rows, as PyTorch gives. */
const meanScale = (p: CrossEntropyParams, rows: number) => (p.reduction !== 'mean' ? 1 : rows > 0 ? 1 / rows : NaN);

/** Row r's loss; writes its lse. NaN and ±∞ as the softmax kernels: a NaN logit wins the max. */
const ROW_LOSS = `
fn row_loss(r: i32) -> f32 {
  let b = r * p.cols;
  var mx = -inf_f32();
  for (var j = 0; j < p.cols; j++) { let v = X[b + j]; if (is_nan_f32(v) || (!is_nan_f32(mx) && v > mx)) { mx = v; } }
  var sum = 0.0;
  var sum_x = 0.0;
  for (var j = 0; j < p.cols; j++) { let v = X[b + j]; sum += exp(v - mx); sum_x += v; }
  let lse = mx + log(sum);
  LSE[r] = lse;
  let t = T[r];
  var xt = nan_f32();
  if (t >= 0 && t < p.cols) { xt = X[b + t]; }
  let nll = lse - xt;
  if (p.eps > 0.0) { return (1.0 - p.eps) * nll + p.eps * (lse - sum_x / f32(p.cols)); }
  return nll;
}
`;

/** Sums each invocation's `acc` into red[0] (workgroup of GROUP_WG). */
const TREE_SUM = `  red[t] = acc;
  for (var w = ${GROUP_WG / 2}; w > 0; w >>= 1u) {
    workgroupBarrier();
    if (t < w) { red[t] += red[t + w]; }
  }`;

/**
 * Bindings X [rows, cols] f32, T [rows] i32, LSE [rows] (written), L (written): the row
 * losses for 'none' and for mode 'rows', else the mean or sum in L[0].
 */
export function crossEntropyKernel(rows: number, cols: number, p: CrossEntropyParams, mode: CrossEntropyMode = crossEntropyMode(rows, cols)): Kernel {
  const fields: Field[] = [['count', 'i32', rows], ['cols', 'i32', cols], ['eps', 'f32', p.labelSmoothing], ['scale', 'f32', meanScale(p, rows)]];
  const storage: [string, 'read' | 'read_write', string][] = [['X', 'read', 'f32'], ['T', 'read', 'i32'], ['LSE', 'read_write', 'f32'], ['L', 'read_write', 'f32']];
  if (mode === 'rows') {
    return makeKernel({
      key: 'crossEntropy/rows', storage, fields,
      build: () => FLOAT_SPECIALS + ROW_LOSS + linearMain(ROWS_WG, '    L[i] = row_loss(i);'),
      workgroupSize: ROWS_WG, dispatch: linearDispatch(rows, ROWS_WG),
    });
  }
  const reduce = p.reduction !== 'none';
  const build = () => FLOAT_SPECIALS + ROW_LOSS + `var<workgroup> red: array<f32, ${GROUP_WG}>;
@compute @workgroup_size(${GROUP_WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = i32(lid.x);
  var acc = 0.0;
  for (var r = t; r < p.count; r += ${GROUP_WG}) {
    let l = row_loss(r);
    ${reduce ? 'acc += l;' : 'L[r] = l;'}
  }
${reduce ? `${TREE_SUM}\n  if (t == 0) { L[0] = red[0] * p.scale; }` : ''}
}
`;
  return makeKernel({
    key: `crossEntropy/group/${reduce ? 'reduce' : 'none'}`, storage, fields, build,
    workgroupSize: GROUP_WG, dispatch: reduce || rows > 0 ? [1, 1, 1] : [0, 0, 0],
  });
}

/** Bindings L [rows] (the row losses), OUT [1] (written): their mean or sum, by one workgroup. */
export function crossEntropyTotalKernel(rows: number, p: CrossEntropyParams): Kernel {
  const build = () => `var<workgroup> red: array<f32, ${GROUP_WG}>;
@compute @workgroup_size(${GROUP_WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = i32(lid.x);
  var acc = 0.0;
  for (var r = t; r < p.count; r += ${GROUP_WG}) { acc += L[r]; }
${TREE_SUM}
  if (t == 0) { OUT[0] = red[0] * p.scale; }
}
`;
  return makeKernel({
    key: 'crossEntropy/total', storage: [['L', 'read', 'f32'], ['OUT', 'read_write', 'f32']],
    fields: [['count', 'i32', rows], ['scale', 'f32', meanScale(p, rows)]], build,
    workgroupSize: GROUP_WG, dispatch: [1, 1, 1],
  });
}

/**
 * Bindings G (1 value, or [rows] for 'none'), X [rows, cols], LSE [rows], T [rows] i32,
 * GX [rows, cols] (written): gx = (exp(x − lse) − (1 − ε)·onehot − ε / cols) · g_r, one
 * invocation per value. `meanRows`: the rows the mean divides by (all of them, when the
 * backend runs this on a part of the rows).
 */
export function crossEntropyBackwardKernel(rows: number, cols: number, p: CrossEntropyParams, meanRows = rows): Kernel {
  const none = p.reduction === 'none';
  const body = `    let r = i / p.cols;
    let c = i - r * p.cols;
    var hit = 0.0;
    if (c == T[r]) { hit = p.hit; }
    GX[i] = (exp(X[i] - LSE[r]) - hit - p.spread) * (G[${none ? 'r' : '0'}] * p.gscale);`;
  return makeKernel({
    key: `crossEntropyBackward/${none ? 'none' : 'reduce'}`,
    storage: [['G', 'read', 'f32'], ['X', 'read', 'f32'], ['LSE', 'read', 'f32'], ['T', 'read', 'i32'], ['GX', 'read_write', 'f32']],
    fields: [['count', 'i32', rows * cols], ['cols', 'i32', cols], ['hit', 'f32', 1 - p.labelSmoothing],
      ['spread', 'f32', cols > 0 ? p.labelSmoothing / cols : 0], ['gscale', 'f32', p.reduction === 'mean' && meanRows > 0 ? 1 / meanRows : 1]],
    build: () => linearMain(ROWS_WG, body),
    workgroupSize: ROWS_WG, dispatch: linearDispatch(rows * cols, ROWS_WG),
  });
}
