/**
 * Batch normalisation with batch statistics, x viewed as [n, c, s] (s = product of the
 * spatial dims). Statistics per channel over its n·s values, biased variance:
 * - stats: one workgroup per channel, tree reductions in workgroup memory; the variance is
 *   the mean of (x − mean)² in a second pass over the data (not E[x²] − E[x]²).
 * - apply: y from x and its channel's statistics, weight and bias, elementwise.
 * - backward reduce: one workgroup per channel, gbias = Σ gy, gweight = Σ gy · xhat.
 * - backward apply: gx from gy, x and its channel's statistics, weight and sums.
 *   Both applies are kernels-ir's channel maps (batchNormApply, batchNormGrad) rendered by
 *   renderWgsl: the coefficients once per channel where the kernel has a channel, else per
 *   element (the same f32 expressions, so the same bits), then the element's tree.
 * - single pass (forward and backward): the statistics or reduce pass's own text, then the
 *   same workgroup writes its channel's outputs: one dispatch for two, the same bits.
 */
import { batchNormApply, batchNormGrad, expr, exprKey, type BatchNormShape, type ChannelMap, type ElementwiseKernelOp, type RunningStatsParams } from '@webgrad/kernels-ir';
import { MATH_F32, renderWgsl, wgslOpFunction } from './expr-wgsl';
import { FLOAT_SPECIALS, foldGroups, linearDispatch, linearMain, makeKernel, type Access, type Field, type Kernel } from './kernel';

const WG = 256;
const RED_WG = 256;

const shapeFields = (p: BatchNormShape): Field[] => [['count', 'i32', p.n * p.s], ['c', 'i32', p.c], ['s', 'i32', p.s]];

/** Sums `names` (f32 locals of each invocation) over the workgroup into red_<name>[0]. */
function treeReduce(names: string[]): string {
  return `${names.map((n) => `  red_${n}[t] = ${n};`).join('\n')}
  for (var w = ${RED_WG / 2}u; w > 0u; w >>= 1u) {
    workgroupBarrier();
    if (lid.x < w) {
${names.map((n) => `      red_${n}[t] += red_${n}[t + i32(w)];`).join('\n')}
    }
  }
  workgroupBarrier();
${names.map((n) => `  ${n} = red_${n}[0];`).join('\n')}
  workgroupBarrier();`;
}

/**
 * One workgroup per channel (channel = flat workgroup id; groups past c compute channel c−1
 * and write nothing). `body` sees `ch`, `t` and `base(j)`, the flat index of the channel's
 * j-th value (j < p.count = n·s).
 */
function channelMain(shared: string[], body: string): string {
  return `${shared.map((n) => `var<workgroup> red_${n}: array<f32, ${RED_WG}>;`).join('\n')}
fn chIdx(ch: i32, j: i32) -> i32 {
  let b = j / p.s;
  return (b * p.c + ch) * p.s + (j - b * p.s);
}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let chRaw = i32(wid.y * nwg.x + wid.x);
  let ch = min(chRaw, p.c - 1);
  let t = i32(lid.x);
${body}
}
`;
}

/**
 * A channel map in WGSL: `lets` naming its coefficients (coef0, coef1...), computed from
 * the channel inputs given as WGSL expressions by name (a missing one takes the map's
 * absent value), and `value(elements)`, the element's tree over the element inputs'
 * expressions and those names.
 */
function channelMapWgsl(map: ChannelMap, channel: Readonly<Record<string, string | undefined>>, indent: string): { lets: string; value: (elements: readonly string[]) => string } {
  const e = map.elements.length;
  const bound = new Map(map.channelInputs.map((name, k) => [exprKey(expr.arg(e + k)), channel[name] ?? renderWgsl(expr.num(map.absent[name]), 'f32')]));
  let lets = '';
  map.coefficients.forEach((t, j) => {
    lets += `${indent}let coef${j} = ${renderWgsl(t, 'f32', undefined, bound)};\n`;
    // a later coefficient that contains this one reads it
    bound.set(exprKey(t), `coef${j}`);
    bound.set(exprKey(expr.arg(e + map.channelInputs.length + j)), `coef${j}`);
  });
  return {
    lets,
    value: (elements) => renderWgsl(map.expr, 'f32', undefined, new Map([...bound, ...elements.map((v, k) => [exprKey(expr.arg(k)), v] as const)])),
  };
}

/** The running statistics' settings (RunningStatsParams besides c and eps). */
export interface RunningUpdate { momentum: number; count: number }

/** The uniform fields of the running-statistics update, shared so both kernels get the same f32 values. */
const runningFields = (momentum: number, count: number): Field[] =>
  [['keep', 'f32', 1 - momentum], ['momentum', 'f32', momentum], ['varScale', 'f32', (momentum * count) / (count - 1)]];

/**
 * Bindings X, mean, invstd: per-channel batch mean and 1 / sqrt(biased variance + eps).
 * With `running`, also bindings running mean, running var, new mean, new var, written as
 * batchNormRunningStatsKernel writes them from the stored mean and invstd (the same f32
 * values, the same expressions): one dispatch fewer per training batch norm.
 */
export function batchNormStatsKernel(p: BatchNormShape, eps: number, running?: RunningUpdate): Kernel {
  const body = `${statsReduce}
  if (chRaw < p.c && t == 0) {
${statsWrites(running !== undefined, (n) => `${n}[ch]`)}
  }`;
  const storage: [string, Access, string][] = [['X', 'read', 'f32'], ['MEAN', 'read_write', 'f32'], ['INVSTD', 'read_write', 'f32']];
  if (running) storage.push(['RM', 'read', 'f32'], ['RV', 'read', 'f32'], ['NEW_MEAN', 'read_write', 'f32'], ['NEW_VAR', 'read_write', 'f32']);
  return makeKernel({
    key: running ? 'batchNorm/stats/running' : 'batchNorm/stats',
    storage,
    fields: [...shapeFields(p), ['eps', 'f32', eps], ...(running ? runningFields(running.momentum, running.count) : [])],
    build: () => channelMain(['sum', 'sq'], body),
    workgroupSize: RED_WG, dispatch: foldGroups(p.n * p.s === 0 ? 0 : p.c),
  });
}

/**
 * The statistics pass up to its writes: every invocation ends with the channel's `mu` and
 * `inv` (1 / sqrt(biased variance + eps)). Text shared by the two-pass and single-pass
 * kernels, so both sum in the same order and give the same bits.
 */
const statsReduce = `  var sum = 0.0;
  for (var j = t; j < p.count; j += ${RED_WG}) { sum += X[chIdx(ch, j)]; }
${treeReduce(['sum'])}
  let mu = sum / f32(p.count);
  var sq = 0.0;
  for (var j = t; j < p.count; j += ${RED_WG}) { let d = X[chIdx(ch, j)] - mu; sq += d * d; }
${treeReduce(['sq'])}
  let inv = 1.0 / sqrt(sq / f32(p.count) + p.eps);`;

/** The per-channel writes of the statistics (and running statistics), `at(name)` the element of channel ch. */
function statsWrites(running: boolean, at: (name: string) => string): string {
  return `    ${at('MEAN')} = mu;
    ${at('INVSTD')} = inv;${running ? `
    let variance = 1.0 / (inv * inv) - p.eps;
    ${at('NEW_MEAN')} = RM[ch] * p.keep + mu * p.momentum;
    ${at('NEW_VAR')} = RV[ch] * p.keep + variance * p.varScale;` : ''}`;
}

/** One op of an apply kernel's epilogue: a binary op reads its residual (x's shape) at the same index. */
export interface EpilogueOp { op: ElementwiseKernelOp; a: number; b: number }

/** Storage bindings batchNormApplyKernel takes. */
export const batchNormApplyBindings = (hasWeight: boolean, hasBias: boolean, epilogue: readonly EpilogueOp[] = []): number =>
  4 + Number(hasWeight) + Number(hasBias) + epilogue.filter((e) => e.op.arity === 2).length;

/**
 * Bindings X, mean, invstd, [weight], [bias], one residual per binary op of `epilogue`, Y.
 * The epilogue's ops (rendered from their trees, each with its own parameter fields) run in
 * order on the normalised value, each result an f32 as a separate kernel would store it.
 */
export function batchNormApplyKernel(p: BatchNormShape, hasWeight: boolean, hasBias: boolean, epilogue: readonly EpilogueOp[] = []): Kernel {
  const count = p.n * p.c * p.s;
  const storage: [string, Access, string][] = [['X', 'read', 'f32'], ['MEAN', 'read', 'f32'], ['INVSTD', 'read', 'f32']];
  if (hasWeight) storage.push(['W', 'read', 'f32']);
  if (hasBias) storage.push(['B', 'read', 'f32']);
  const fields: Field[] = [['count', 'i32', count], ['c', 'i32', p.c], ['s', 'i32', p.s]];
  const e = applyEpilogue(epilogue, storage, fields, 'i');
  storage.push(['Y', 'read_write', 'f32']);
  const map = applyWgsl('MEAN[ch]', 'INVSTD[ch]', hasWeight, hasBias, '    ');
  const body = `    let ch = (i / p.s) % p.c;
${map.lets}${stored(map.value(['X[i]']), 'i', e.apply)}`;
  return makeKernel({
    key: `batchNorm/apply/${hasWeight}/${hasBias}${e.key}`,
    storage,
    fields,
    build: () => e.fns + linearMain(WG, body),
    workgroupSize: WG, dispatch: linearDispatch(count, WG),
  });
}

/**
 * The epilogue's parts: its fields and residual bindings (appended to the caller's), its
 * functions, its statements on `v` for element `idx`, and its part of the kernel key.
 */
function applyEpilogue(epilogue: readonly EpilogueOp[], storage: [string, Access, string][], fields: Field[], idx: string): { fns: string; apply: string; key: string } {
  let apply = '';
  const fns: string[] = [];
  epilogue.forEach(({ op, a, b }, k) => {
    fields.push([`a${k}`, 'f32', a], [`b${k}`, 'f32', b]);
    fns.push(wgslOpFunction(op, 'f32', 'f32', `op${k}`, { a: `p.a${k}`, b: `p.b${k}` }));
    if (op.arity === 2) storage.push([`R${k}`, 'read', 'f32']);
    apply += `\n    v = op${k}(v${op.arity === 2 ? `, R${k}[${idx}]` : ''});`;
  });
  return {
    fns: epilogue.length ? FLOAT_SPECIALS + MATH_F32 + fns.join('') : '',
    apply,
    key: epilogue.length === 0 ? '' : `/${epilogue.map((e) => e.op.name).join(',')}`,
  };
}

/** The forward's channel map over channel ch's statistics `mean`, `inv` and W[ch], B[ch] where bound. */
const applyWgsl = (mean: string, inv: string, hasWeight: boolean, hasBias: boolean, indent: string) =>
  channelMapWgsl(batchNormApply, { mean, invstd: inv, weight: hasWeight ? 'W[ch]' : undefined, bias: hasBias ? 'B[ch]' : undefined }, indent);

/**
 * Y[idx] = `value`, through the epilogue's statements: the same in both forward kernels
 * (each result an f32 as a separate kernel would store it).
 */
function stored(value: string, idx: string, apply: string): string {
  return apply === '' ? `    Y[${idx}] = ${value};` : `    var v: f32 = ${value};${apply}
    Y[${idx}] = v;`;
}

/** Where the single-pass kernels write their per-channel outputs: one binding, a slot of `stride` values each. */
export interface PackedStats { stride: number }

/** Storage bindings batchNormSinglePassKernel takes. */
export const batchNormSinglePassBindings = (hasWeight: boolean, hasBias: boolean, running: boolean, epilogue: readonly EpilogueOp[] = []): number =>
  3 + Number(hasWeight) + Number(hasBias) + 2 * Number(running) + epilogue.filter((e) => e.op.arity === 2).length;

/**
 * The statistics pass and the apply pass in one dispatch, one workgroup per channel: the
 * statistics kernel's reduction (same order, same bits), then the same workgroup writes its
 * channel's y with the epilogue. Bindings X, [weight], [bias], [running mean, running var],
 * one residual per binary op, STATS, Y. STATS holds mean, invstd[, new running mean, new
 * running var] in slots 0 to 3 of `packed.stride` values each (one binding for what would
 * be four: ResNet's bn with weight, bias, running statistics and a residual then takes 8,
 * WebGPU's default limit).
 *
 * Its work per channel runs on one workgroup, where the apply pass spreads it over the
 * device: for the small n·s the backend uses it for, the dispatch it saves costs more.
 */
export function batchNormSinglePassKernel(p: BatchNormShape, eps: number, hasWeight: boolean, hasBias: boolean,
  epilogue: readonly EpilogueOp[], packed: PackedStats, running?: RunningUpdate): Kernel {
  const storage: [string, Access, string][] = [['X', 'read', 'f32']];
  if (hasWeight) storage.push(['W', 'read', 'f32']);
  if (hasBias) storage.push(['B', 'read', 'f32']);
  if (running) storage.push(['RM', 'read', 'f32'], ['RV', 'read', 'f32']);
  const fields: Field[] = [...shapeFields(p), ['eps', 'f32', eps], ['stride', 'i32', packed.stride], ...(running ? runningFields(running.momentum, running.count) : [])];
  const e = applyEpilogue(epilogue, storage, fields, 'k');
  storage.push(['STATS', 'read_write', 'f32'], ['Y', 'read_write', 'f32']);
  const slot = ['MEAN', 'INVSTD', 'NEW_MEAN', 'NEW_VAR'];
  const map = applyWgsl('mu', 'inv', hasWeight, hasBias, '    ');
  const body = `${statsReduce}
  if (chRaw < p.c && t == 0) {
${statsWrites(running !== undefined, (n) => `STATS[${slot.indexOf(n)} * p.stride + ch]`)}
  }
  if (chRaw < p.c) {
${map.lets}    for (var j = t; j < p.count; j += ${RED_WG}) {
      let k = chIdx(ch, j);
${stored(map.value(['X[k]']), 'k', e.apply).replace(/^/gm, '  ')}
    }
  }`;
  return makeKernel({
    key: `batchNorm/single/${hasWeight}/${hasBias}/${running !== undefined}${e.key}`,
    storage,
    fields,
    build: () => e.fns + channelMain(['sum', 'sq'], body),
    workgroupSize: RED_WG, dispatch: foldGroups(p.n * p.s === 0 ? 0 : p.c),
  });
}

/**
 * Bindings GY, X, mean, invstd, gbias, gweight: per channel Σ gy and Σ gy · xhat.
 * With `prologue` (an op of gy and another tensor), bindings GY, PY, X, mean, invstd, gbias,
 * gweight[, G]: g = op(gy, py) replaces gy. With `keepG` it is also written to G, for a
 * plain apply kernel to read as its gy (eight bindings at most on either side, for devices
 * with eight); else the apply kernel makes it again from GY and PY (no g array).
 */
export function batchNormBackwardReduceKernel(p: BatchNormShape, prologue?: EpilogueOp, keepG = true): Kernel {
  const body = `${backwardReduce(prologue, keepG)}
  if (chRaw < p.c && t == 0) {
    GB[ch] = gb;
    GW[ch] = gw;
  }`;
  if (prologue) {
    return makeKernel({
      key: `batchNorm/backwardReduce/${prologue.op.name}/${keepG}`,
      storage: [['GY', 'read', 'f32'], ['PY', 'read', 'f32'], ['X', 'read', 'f32'], ['MEAN', 'read', 'f32'], ['INVSTD', 'read', 'f32'],
        ['GB', 'read_write', 'f32'], ['GW', 'read_write', 'f32'], ...(keepG ? [['G', 'read_write', 'f32'] as [string, Access, string]] : [])],
      fields: [...shapeFields(p), ['a0', 'f32', prologue.a], ['b0', 'f32', prologue.b]],
      build: () => FLOAT_SPECIALS + MATH_F32 + wgslOpFunction(prologue.op, 'f32', 'f32', 'op0', { a: 'p.a0', b: 'p.b0' }) + channelMain(['gb', 'gw'], body),
      workgroupSize: RED_WG, dispatch: foldGroups(p.n * p.s === 0 ? 0 : p.c),
    });
  }
  return makeKernel({
    key: 'batchNorm/backwardReduce',
    storage: [['GY', 'read', 'f32'], ['X', 'read', 'f32'], ['MEAN', 'read', 'f32'], ['INVSTD', 'read', 'f32'], ['GB', 'read_write', 'f32'], ['GW', 'read_write', 'f32']],
    fields: shapeFields(p),
    build: () => channelMain(['gb', 'gw'], body),
    workgroupSize: RED_WG, dispatch: foldGroups(p.n * p.s === 0 ? 0 : p.c),
  });
}

/** The g of element `k`: gy, or op(gy, py) with the prologue. */
const prologueG = (prologue: EpilogueOp | undefined, k: string): string =>
  prologue ? `op0(GY[${k}]${prologue.op.arity === 2 ? `, PY[${k}]` : ''})` : `GY[${k}]`;

/**
 * The reduce pass up to its writes: every invocation ends with the channel's `gb` and `gw`
 * (and `mu`, `inv`). Text shared by the two-pass and single-pass kernels: the same bits.
 */
function backwardReduce(prologue: EpilogueOp | undefined, keepG: boolean): string {
  return `  let mu = MEAN[ch];
  let inv = INVSTD[ch];
  var gb = 0.0;
  var gw = 0.0;
  for (var j = t; j < p.count; j += ${RED_WG}) {
    let k = chIdx(ch, j);
    let g = ${prologueG(prologue, 'k')};
${prologue && keepG ? `    if (chRaw < p.c) { G[k] = g; }\n` : ''}    gb += g;
    gw += g * (X[k] - mu) * inv;
  }
${treeReduce(['gb', 'gw'])}`;
}

/** The backward's channel map over channel ch's statistics, W[ch] where bound, its sums and p.m. */
const gradWgsl = (mean: string, inv: string, hasWeight: boolean, gb: string, gw: string, indent: string) =>
  channelMapWgsl(batchNormGrad, { mean, invstd: inv, weight: hasWeight ? 'W[ch]' : undefined, gbias: gb, gweight: gw, m: 'p.m' }, indent);

/**
 * The reduce pass and the apply pass in one dispatch, one workgroup per channel: the reduce
 * kernel's sums (same order, same bits), then the same workgroup writes its channel's gx.
 * Bindings GY, [PY], X, mean, invstd, [weight], STATS, GX; STATS holds gbias in slot 0 and
 * gweight in slot 1 of `packed.stride` values each (8 bindings with the prologue and a
 * weight, WebGPU's default limit). g = op(gy, py) is made in both loops, never stored.
 */
export function batchNormBackwardSinglePassKernel(p: BatchNormShape, hasWeight: boolean, packed: PackedStats, prologue?: EpilogueOp): Kernel {
  const storage: [string, Access, string][] = [['GY', 'read', 'f32'], ...(prologue?.op.arity === 2 ? [['PY', 'read', 'f32'] as [string, Access, string]] : []),
    ['X', 'read', 'f32'], ['MEAN', 'read', 'f32'], ['INVSTD', 'read', 'f32']];
  if (hasWeight) storage.push(['W', 'read', 'f32']);
  storage.push(['STATS', 'read_write', 'f32'], ['GX', 'read_write', 'f32']);
  const map = gradWgsl('mu', 'inv', hasWeight, 'gb', 'gw', '    ');
  const body = `${backwardReduce(prologue, false)}
  if (chRaw < p.c && t == 0) {
    STATS[ch] = gb;
    STATS[p.stride + ch] = gw;
  }
  if (chRaw < p.c) {
${map.lets}    for (var j = t; j < p.count; j += ${RED_WG}) {
      let k = chIdx(ch, j);
      let g = ${prologueG(prologue, 'k')};
      GX[k] = ${map.value(['g', 'X[k]'])};
    }
  }`;
  const fields: Field[] = [...shapeFields(p), ['m', 'f32', p.n * p.s], ['stride', 'i32', packed.stride]];
  if (prologue) fields.push(['a0', 'f32', prologue.a], ['b0', 'f32', prologue.b]);
  return makeKernel({
    key: `batchNorm/backwardSingle/${hasWeight}${prologue ? `/${prologue.op.name}` : ''}`,
    storage,
    fields,
    build: () => (prologue ? FLOAT_SPECIALS + MATH_F32 + wgslOpFunction(prologue.op, 'f32', 'f32', 'op0', { a: 'p.a0', b: 'p.b0' }) : '') + channelMain(['gb', 'gw'], body),
    workgroupSize: RED_WG, dispatch: foldGroups(p.n * p.s === 0 ? 0 : p.c),
  });
}

/**
 * Bindings GY, X, mean, invstd, gbias, gweight, [weight], GX. `m`: the values per channel
 * of the whole batch, when this dispatch covers part of it. With `prologue`, bindings GY,
 * PY, X, ...: g = op(gy, py) for gy, made again here (the reduce kernel's `keepG` false):
 * one binding more than the plain kernel (9 with a weight) and no g array.
 */
export function batchNormBackwardApplyKernel(p: BatchNormShape, hasWeight: boolean, m = p.n * p.s, prologue?: EpilogueOp): Kernel {
  const count = p.n * p.c * p.s;
  const storage: [string, Access, string][] = [
    ['GY', 'read', 'f32'], ...(prologue ? [['PY', 'read', 'f32'] as [string, Access, string]] : []),
    ['X', 'read', 'f32'], ['MEAN', 'read', 'f32'], ['INVSTD', 'read', 'f32'], ['GB', 'read', 'f32'], ['GW', 'read', 'f32'],
  ];
  if (hasWeight) storage.push(['W', 'read', 'f32']);
  storage.push(['GX', 'read_write', 'f32']);
  const map = gradWgsl('MEAN[ch]', 'INVSTD[ch]', hasWeight, 'GB[ch]', 'GW[ch]', '    ');
  const body = `    let ch = (i / p.s) % p.c;
    let g = ${prologueG(prologue, 'i')};
${map.lets}    GX[i] = ${map.value(['g', 'X[i]'])};`;
  if (prologue) {
    return makeKernel({
      key: `batchNorm/backwardApply/${hasWeight}/${prologue.op.name}`,
      storage,
      fields: [['count', 'i32', count], ['c', 'i32', p.c], ['s', 'i32', p.s], ['m', 'f32', m], ['a0', 'f32', prologue.a], ['b0', 'f32', prologue.b]],
      build: () => FLOAT_SPECIALS + MATH_F32 + wgslOpFunction(prologue.op, 'f32', 'f32', 'op0', { a: 'p.a0', b: 'p.b0' }) +
        linearMain(WG, body),
      workgroupSize: WG, dispatch: linearDispatch(count, WG),
    });
  }
  return makeKernel({
    key: `batchNorm/backwardApply/${hasWeight}`,
    storage,
    fields: [['count', 'i32', count], ['c', 'i32', p.c], ['s', 'i32', p.s], ['m', 'f32', m]],
    build: () => linearMain(WG, body),
    workgroupSize: WG, dispatch: linearDispatch(count, WG),
  });
}

/**
 * Statistics of a batch from those of its parts (a batch too large to bind whole): part j
 * covers `count` values per channel (the last one `lastCount`), with its mean and invstd
 * (from batchNormStatsKernel, same eps) at [j * c + ch]. Chan's pairwise update; the part
 * variance is recovered as 1 / invstd² − eps. Bindings partMean, partInvstd, mean, invstd.
 */
export function batchNormCombineKernel(c: number, parts: number, count: number, lastCount: number, eps: number): Kernel {
  const body = `    var total = 0.0;
    var mean = 0.0;
    var m2 = 0.0;
    for (var j = 0; j < p.parts; j++) {
      let cnt = select(p.full, p.last, j == p.parts - 1);
      let inv = PI[j * p.count + i];
      let mj = PM[j * p.count + i];
      let delta = mj - mean;
      let next = total + cnt;
      mean += delta * cnt / next;
      m2 += (1.0 / (inv * inv) - p.eps) * cnt + delta * delta * total * cnt / next;
      total = next;
    }
    MEAN[i] = mean;
    // WGSL's max may drop a NaN: keep the statistics of a batch with NaN NaN, as on cpu
    INVSTD[i] = 1.0 / sqrt(select(max(m2, 0.0), m2, is_nan_f32(m2)) / total + p.eps);`;
  return makeKernel({
    key: 'batchNorm/combine',
    storage: [['PM', 'read', 'f32'], ['PI', 'read', 'f32'], ['MEAN', 'read_write', 'f32'], ['INVSTD', 'read_write', 'f32']],
    fields: [['count', 'i32', c], ['parts', 'i32', parts], ['full', 'f32', count], ['last', 'f32', lastCount], ['eps', 'f32', eps]],
    build: () => FLOAT_SPECIALS + linearMain(WG, body),
    workgroupSize: WG, dispatch: linearDispatch(c, WG),
  });
}

/**
 * Bindings running mean, running var, batch mean, batch invstd, new mean, new var: PyTorch's
 * running = (1 − momentum)·running + momentum·batch per channel, the batch variance recovered
 * as 1 / invstd² − eps and made unbiased. One dispatch instead of a dozen elementwise ops.
 */
export function batchNormRunningStatsKernel(p: RunningStatsParams): Kernel {
  const body = `    let variance = 1.0 / (INVSTD[i] * INVSTD[i]) - p.eps;
    NEW_MEAN[i] = RM[i] * p.keep + MEAN[i] * p.momentum;
    NEW_VAR[i] = RV[i] * p.keep + variance * p.varScale;`;
  return makeKernel({
    key: 'batchNorm/runningStats',
    storage: [['RM', 'read', 'f32'], ['RV', 'read', 'f32'], ['MEAN', 'read', 'f32'], ['INVSTD', 'read', 'f32'], ['NEW_MEAN', 'read_write', 'f32'], ['NEW_VAR', 'read_write', 'f32']],
    fields: [['count', 'i32', p.c], ...runningFields(p.momentum, p.count), ['eps', 'f32', p.eps]],
    build: () => linearMain(WG, body),
    workgroupSize: WG, dispatch: linearDispatch(p.c, WG),
  });
}
