/**
 * Softmax / log-softmax over the rows of a [rows, cols] matrix, stable (row max
 * subtracted). Short rows: one invocation per row. Long rows (few of them): one workgroup
 * per row with tree reductions in workgroup memory.
 */
import { FLOAT_SPECIALS, foldGroups, linearDispatch, linearMain, makeKernel, type Kernel } from './kernel';

export type SoftmaxMode = 'thread' | 'group';

const THREAD_WG = 64;
const GROUP_WG = 128;

export function softmaxMode(rows: number, cols: number): SoftmaxMode {
  return cols >= 256 && rows < 4096 ? 'group' : 'thread';
}

/** Bindings X, out. */
export function softmaxKernel(rows: number, cols: number, log: boolean, mode: SoftmaxMode = softmaxMode(rows, cols)): Kernel {
  const finish = log ? 'X[b + j] - lse' : 'exp(X[b + j] - mx) * inv';
  const fields: [string, 'i32', number][] = [['count', 'i32', rows], ['cols', 'i32', cols]];
  if (mode === 'thread') {
    const body = `  let b = i * p.cols;
  var mx = -inf_f32();
  for (var j = 0; j < p.cols; j++) { let v = X[b + j]; if (is_nan_f32(v) || (!is_nan_f32(mx) && v > mx)) { mx = v; } }
  var sum = 0.0;
  for (var j = 0; j < p.cols; j++) { sum += exp(X[b + j] - mx); }
  let lse = mx + log(sum);
  let inv = 1.0 / sum;
  for (var j = 0; j < p.cols; j++) { Y[b + j] = ${finish}; }`;
    return makeKernel({
      key: `softmax/thread/${log}`,
      storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
      fields, build: () => FLOAT_SPECIALS + linearMain(THREAD_WG, body),
      workgroupSize: THREAD_WG, dispatch: linearDispatch(rows, THREAD_WG),
    });
  }
  const build = () => FLOAT_SPECIALS + `var<workgroup> red: array<f32, ${GROUP_WG}>;
@compute @workgroup_size(${GROUP_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = i32(wid.y * nwg.x + wid.x);
  let t = i32(lid.x);
  let b = min(row, p.count - 1) * p.cols;
  var mx = -inf_f32();
  for (var j = t; j < p.cols; j += ${GROUP_WG}) { let v = X[b + j]; if (is_nan_f32(v) || (!is_nan_f32(mx) && v > mx)) { mx = v; } }
  red[t] = mx;
  for (var w = ${GROUP_WG / 2}; w > 0; w >>= 1u) {
    workgroupBarrier();
    if (t < w) { let o = red[t + w]; if (is_nan_f32(o) || (!is_nan_f32(red[t]) && o > red[t])) { red[t] = o; } }
  }
  workgroupBarrier();
  mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var j = t; j < p.cols; j += ${GROUP_WG}) { sum += exp(X[b + j] - mx); }
  red[t] = sum;
  for (var w = ${GROUP_WG / 2}; w > 0; w >>= 1u) {
    workgroupBarrier();
    if (t < w) { red[t] += red[t + w]; }
  }
  workgroupBarrier();
  sum = red[0];
  let lse = mx + log(sum);
  let inv = 1.0 / sum;
  if (row < p.count) {
    for (var j = t; j < p.cols; j += ${GROUP_WG}) { Y[b + j] = ${finish}; }
  }
}
`;
  return makeKernel({
    key: `softmax/group/${log}`,
    storage: [['X', 'read', 'f32'], ['Y', 'read_write', 'f32']],
    fields, build, workgroupSize: GROUP_WG, dispatch: foldGroups(rows),
  });
}
