/**
 * Hard-label cross-entropy over the rows of a [rows, cols] logits matrix, forward and
 * backward, the formulas of the cpu reference (tensor's backends/cpu/kernels/cross-entropy.ts).
 *
 * The forward of a classification head (tens of rows, tens to thousands of classes) is one
 * dispatch of one workgroup: its invocations take rows in turn and sum their losses in
 * workgroup memory, so the mean or sum costs no launch of its own ('group'). Where that
 * would leave one invocation too many values, the row losses are written by one invocation
 * per row ('rows', many short rows) or one workgroup per row ('wide', fewer long rows, as
 * the softmax kernels choose), and crossEntropyTotalKernel takes their mean or sum.
 */
import type { CrossEntropyParams } from '@webgrad/kernels-ir';
import { FLOAT_SPECIALS, foldGroups, linearDispatch, linearMain, makeKernel, type Field, type Kernel } from './kernel';

export type CrossEntropyMode = 'group' | 'rows' | 'wide';

const GROUP_WG = 256;
const ROWS_WG = 64;
const WIDE_WG = 128;

/**
 * The most logits one invocation of the one-workgroup forward reads (its rows · cols): a
 * serial loop of this length costs about what a second launch does, so beyond it the work
 * is spread over the device at the price of the total's launch. It bounds the one-workgroup
 * case to 256 · 4096 = 2^20 values.
 */
export const CROSS_ENTROPY_GROUP_MAX_PER_INVOCATION = 4096;

export function crossEntropyMode(rows: number, cols: number): CrossEntropyMode {
  if (Math.ceil(rows / GROUP_WG) * cols <= CROSS_ENTROPY_GROUP_MAX_PER_INVOCATION) return 'group';
  return cols >= 256 && rows < 4096 ? 'wide' : 'rows';
}

/** What the mean multiplies the sum by: NaN for the mean of no rows, as PyTorch gives. */
const meanScale = (p: CrossEntropyParams, rows: number) => (p.reduction !== 'mean' ? 1 : rows > 0 ? 1 / rows : NaN);

/**
 * Row r's loss from its lse and Σ x (b: its first logit); writes its lse. A target outside
 * [0, cols) reads nothing and makes the loss NaN.
 */
const ROW_END = `
fn row_end(r: i32, b: i32, lse: f32, sum_x: f32) -> f32 {
  LSE[r] = lse;
  let t = T[r];
  var xt = nan_f32();
  if (t >= 0 && t < p.cols) { xt = X[b + t]; }
  let nll = lse - xt;
  if (p.eps > 0.0) { return (1.0 - p.eps) * nll + p.eps * (lse - sum_x / f32(p.cols)); }
  return nll;
}
`;

/** NaN wins the max, as in the softmax kernels. */
const MAX_INTO = (into: string, v: string) => `if (is_nan_f32(${v}) || (!is_nan_f32(${into}) && ${v} > ${into})) { ${into} = ${v}; }`;

/** Row r's loss by one invocation. */
const ROW_LOSS = ROW_END + `
fn row_loss(r: i32) -> f32 {
  let b = r * p.cols;
  var mx = -inf_f32();
  for (var j = 0; j < p.cols; j++) { let v = X[b + j]; ${MAX_INTO('mx', 'v')} }
  var sum = 0.0;
  var sum_x = 0.0;
  for (var j = 0; j < p.cols; j++) { let v = X[b + j]; sum += exp(v - mx); sum_x += v; }
  return row_end(r, b, mx + log(sum), sum_x);
}
`;

/** Tree steps over workgroup memory of `wg` values; `step` combines [t] and [t + w]. */
const tree = (wg: number, step: string) => `  for (var w = ${wg / 2}; w > 0; w >>= 1u) {
    workgroupBarrier();
    if (t < w) { ${step} }
  }`;

const STORAGE: [string, 'read' | 'read_write', string][] = [['X', 'read', 'f32'], ['T', 'read', 'i32'], ['LSE', 'read_write', 'f32'], ['L', 'read_write', 'f32']];

/**
 * Bindings X [rows, cols] f32, T [rows] i32, LSE [rows] (written), L (written): in mode
 * 'group' the mean or sum in L[0] (the row losses for 'none'), in the others the row losses.
 */
export function crossEntropyKernel(rows: number, cols: number, p: CrossEntropyParams, mode: CrossEntropyMode = crossEntropyMode(rows, cols)): Kernel {
  const fields: Field[] = [['count', 'i32', rows], ['cols', 'i32', cols], ['eps', 'f32', p.labelSmoothing], ['scale', 'f32', meanScale(p, rows)]];
  if (mode === 'rows') {
    return makeKernel({
      key: 'crossEntropy/rows', storage: STORAGE, fields,
      build: () => FLOAT_SPECIALS + ROW_LOSS + linearMain(ROWS_WG, '    L[i] = row_loss(i);'),
      workgroupSize: ROWS_WG, dispatch: linearDispatch(rows, ROWS_WG),
    });
  }
  if (mode === 'wide') {
    const build = () => FLOAT_SPECIALS + ROW_END + `var<workgroup> red: array<f32, ${WIDE_WG}>;
var<workgroup> red_x: array<f32, ${WIDE_WG}>;
@compute @workgroup_size(${WIDE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = i32(wid.y * nwg.x + wid.x);
  let t = i32(lid.x);
  let r = min(row, p.count - 1);
  let b = r * p.cols;
  var mx = -inf_f32();
  for (var j = t; j < p.cols; j += ${WIDE_WG}) { let v = X[b + j]; ${MAX_INTO('mx', 'v')} }
  red[t] = mx;
${tree(WIDE_WG, `let o = red[t + w]; ${MAX_INTO('red[t]', 'o')}`)}
  workgroupBarrier();
  mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  var sum_x = 0.0;
  for (var j = t; j < p.cols; j += ${WIDE_WG}) { let v = X[b + j]; sum += exp(v - mx); sum_x += v; }
  red[t] = sum;
  red_x[t] = sum_x;
${tree(WIDE_WG, 'red[t] += red[t + w]; red_x[t] += red_x[t + w];')}
  if (t == 0 && row < p.count) { L[r] = row_end(r, b, mx + log(red[0]), red_x[0]); }
}
`;
    return makeKernel({ key: 'crossEntropy/wide', storage: STORAGE, fields, build, workgroupSize: WIDE_WG, dispatch: foldGroups(rows) });
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
${reduce ? `  red[t] = acc;\n${tree(GROUP_WG, 'red[t] += red[t + w];')}\n  if (t == 0) { L[0] = red[0] * p.scale; }` : ''}
}
`;
  return makeKernel({
    key: `crossEntropy/group/${reduce ? 'reduce' : 'none'}`, storage: STORAGE, fields, build,
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
  red[t] = acc;
${tree(GROUP_WG, 'red[t] += red[t + w];')}
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
