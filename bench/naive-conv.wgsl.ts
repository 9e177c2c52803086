/**
 * Row 4 of `npm run bench -- loops`: the naive WGSL convolution a first GPU port would be.
 * One invocation per output element, each looping over Cin·kh·kw with no tiling, no
 * workgroup memory and no reuse; its backward is written the same way (one invocation per
 * input element for dX, looping over Cout·kh·kw; one per weight for dW, looping over
 * N·Hout·Wout). 2-D, NCHW, groups = 1; stride, padding and dilation are honoured.
 *
 * Shapes travel in a uniform buffer (`naiveConvParams`), so one pipeline serves every shape.
 * Bindings: 0 uniform params, 1 and 2 read-only inputs, 3 the output.
 */

/** Workgroup size of all three kernels (1-D). */
export const NAIVE_WORKGROUP = 64;

/** Fields of the uniform buffer, in order (all u32). */
const FIELDS = ['n', 'cin', 'h', 'w', 'cout', 'kh', 'kw', 'oh', 'ow', 'sh', 'sw', 'ph', 'pw', 'dh', 'dw', 'total'] as const;

export interface NaiveConvShape {
  n: number; cin: number; h: number; w: number; cout: number; kh: number; kw: number;
  oh: number; ow: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number;
}

/** The uniform buffer for one shape; `total` is the number of invocations the kernel needs. */
export function naiveConvParams(s: NaiveConvShape, total: number): Uint32Array {
  const values: Record<(typeof FIELDS)[number], number> = { ...s, total };
  return Uint32Array.from(FIELDS, (f) => values[f]);
}

const header = (inputs: [string, string], output: string) => `
struct Params { ${FIELDS.map((f) => `${f}: u32`).join(', ')} }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ${inputs[0]}: array<f32>;
@group(0) @binding(2) var<storage, read> ${inputs[1]}: array<f32>;
@group(0) @binding(3) var<storage, read_write> ${output}: array<f32>;
`;

const entry = `@compute @workgroup_size(${NAIVE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * ${NAIVE_WORKGROUP}u;
  if (i >= p.total) { return; }`;

/** y[n, co, oy, ox] = Σ_{ci, ky, kx} x[n, ci, oy·s + ky·d − p, ox·s + kx·d − p] · w[co, ci, ky, kx]. Inputs x, w; output y. */
export function naiveConvForwardWgsl(): string {
  return `${header(['x', 'w'], 'y')}
${entry}
  let ox = i % p.ow;
  let oy = (i / p.ow) % p.oh;
  let co = (i / (p.ow * p.oh)) % p.cout;
  let n = i / (p.ow * p.oh * p.cout);
  var acc = 0.0;
  for (var ci = 0u; ci < p.cin; ci++) {
    for (var ky = 0u; ky < p.kh; ky++) {
      let iy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
      if (iy < 0 || iy >= i32(p.h)) { continue; }
      for (var kx = 0u; kx < p.kw; kx++) {
        let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
        if (ix < 0 || ix >= i32(p.w)) { continue; }
        acc += x[((n * p.cin + ci) * p.h + u32(iy)) * p.w + u32(ix)] * w[((co * p.cin + ci) * p.kh + ky) * p.kw + kx];
      }
    }
  }
  y[i] = acc;
}
`;
}

/** dx[n, ci, iy, ix] = Σ_{co, ky, kx} gy[n, co, oy, ox] · w[co, ci, ky, kx] over the (oy, ox) that read (iy, ix). Inputs gy, w; output dx. */
export function naiveConvBackwardInputWgsl(): string {
  return `${header(['gy', 'w'], 'dx')}
${entry}
  let ix = i % p.w;
  let iy = (i / p.w) % p.h;
  let ci = (i / (p.w * p.h)) % p.cin;
  let n = i / (p.w * p.h * p.cin);
  var acc = 0.0;
  for (var co = 0u; co < p.cout; co++) {
    for (var ky = 0u; ky < p.kh; ky++) {
      let ty = i32(iy + p.ph) - i32(ky * p.dh);
      if (ty < 0 || ty % i32(p.sh) != 0) { continue; }
      let oy = u32(ty) / p.sh;
      if (oy >= p.oh) { continue; }
      for (var kx = 0u; kx < p.kw; kx++) {
        let tx = i32(ix + p.pw) - i32(kx * p.dw);
        if (tx < 0 || tx % i32(p.sw) != 0) { continue; }
        let ox = u32(tx) / p.sw;
        if (ox >= p.ow) { continue; }
        acc += gy[((n * p.cout + co) * p.oh + oy) * p.ow + ox] * w[((co * p.cin + ci) * p.kh + ky) * p.kw + kx];
      }
    }
  }
  dx[i] = acc;
}
`;
}

/** dw[co, ci, ky, kx] = Σ_{n, oy, ox} gy[n, co, oy, ox] · x[n, ci, oy·s + ky·d − p, ox·s + kx·d − p]. Inputs x, gy; output dw. */
export function naiveConvBackwardWeightWgsl(): string {
  return `${header(['x', 'gy'], 'dw')}
${entry}
  let kx = i % p.kw;
  let ky = (i / p.kw) % p.kh;
  let ci = (i / (p.kw * p.kh)) % p.cin;
  let co = i / (p.kw * p.kh * p.cin);
  var acc = 0.0;
  for (var n = 0u; n < p.n; n++) {
    for (var oy = 0u; oy < p.oh; oy++) {
      let iy = i32(oy * p.sh + ky * p.dh) - i32(p.ph);
      if (iy < 0 || iy >= i32(p.h)) { continue; }
      for (var ox = 0u; ox < p.ow; ox++) {
        let ix = i32(ox * p.sw + kx * p.dw) - i32(p.pw);
        if (ix < 0 || ix >= i32(p.w)) { continue; }
        acc += gy[((n * p.cout + co) * p.oh + oy) * p.ow + ox] * x[((n * p.cin + ci) * p.h + u32(iy)) * p.w + u32(ix)];
      }
    }
  }
  dw[i] = acc;
}
`;
}

/** Workgroup counts [x, y] for `total` invocations, keeping x under the 65,535 limit. */
export function naiveDispatch(total: number): [number, number] {
  const groups = Math.ceil(total / NAIVE_WORKGROUP);
  if (groups <= 65535) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y];
}
