/**
 * A matrix product shaped for CPU-emulated adapters (lavapipe, SwiftShader), where a
 * workgroup runs as SIMD lanes on one thread: loads whose address is the same for every
 * invocation of a workgroup cost one scalar load, loads that differ per lane cost one per
 * lane, and workgroup barriers cost coroutine switches. So each workgroup owns R rows
 * (their A loads are workgroup-uniform), each invocation V vec4 columns of B (one vec4
 * load per 4 columns), and there is no workgroup memory: R x V vec4 accumulators per lane.
 * Measured on llvmpipe (512^3): 10-14 GFLOP/s against 7.5 for 8x8 workgroups with
 * per-invocation rows.
 *
 * out[z][row][c] = sum_s A[row_offset(z, row) + step(s)] * B4[z * bz4 + s * b4 + c/4], with
 * step(s) = T[s] (an offset table: implicit-GEMM convolution gathers) or s * p.astep.
 * Bindings: A (f32), B (vec4<f32>), T (i32, when tabled), then the caller's outputs.
 * Fields come from registerFields.
 */
import { MAX_GROUPS, type Field } from './kernel';

export interface RegisterTile {
  /** rows per workgroup (uniform A loads) */
  R: number;
  /** vec4 columns per invocation */
  V: number;
  /** invocations per workgroup */
  WG: number;
  /**
   * Lanes take rows instead of columns: each invocation owns R rows spaced WG apart, all
   * lanes share the workgroup's V vec4 columns. For products one or two vec4 columns wide
   * (a convolution's input gradient into 3 channels), where column lanes would sit idle.
   */
  rowLanes?: boolean;
}

/** The tile's part of a kernel's cache key. */
export const tileKey = (t: RegisterTile) => `R${t.R}V${t.V}W${t.WG}${t.rowLanes ? 'L' : ''}`;

const pow2ceil = (x: number) => 2 ** Math.ceil(Math.log2(Math.max(1, x)));

/**
 * Tile for `rows` x `cols4` with `steps` reduction steps: fewer rows or lanes when the
 * matrix is thin. Measured on llvmpipe: 8 rows per workgroup suit wide products (64 lanes:
 * 512^3 matmul 8.4 GFLOP/s against 6.9 with 16 rows), 16 rows suit the 8-lane tiles of
 * convolutions (3x3 conv forward 7.7 against 6.8, input gradient 6.9 against 4.4). Lanes
 * take rows when there are too few columns to give each lane one (the input gradient of a
 * 3-channel convolution: 237 -> 28 ms at batch 64, 32x32) or the reduction is too short to
 * repay per-lane column loads (its forward, 27 steps: 37 -> 27 ms); with a long reduction
 * and 8 vec4 columns the column lanes stay ahead (32 -> 64 input gradient: 70 against 95 ms).
 */
export function registerTile(rows: number, cols4: number, steps: number, override?: Partial<RegisterTile>): RegisterTile {
  if (rows >= 256 && (cols4 <= 2 || (cols4 <= 8 && steps <= 64))) {
    return { R: Math.max(2, 16 / pow2ceil(cols4)), V: cols4, WG: 8, rowLanes: true, ...override };
  }
  const [V, WG] = cols4 <= 8 ? [1, 8] : [2, Math.min(64, Math.max(8, pow2ceil(Math.ceil(cols4 / 2))))];
  const R = Math.min(WG <= 16 ? 16 : 8, pow2ceil(rows));
  return { R, V, WG, ...override };
}

const columnBlocks = (t: RegisterTile, cols4: number) => Math.ceil(cols4 / (t.rowLanes ? t.V : t.WG * t.V));
const rowsPerWorkgroup = (t: RegisterTile) => (t.rowLanes ? t.R * t.WG : t.R);

/** Column blocks along x, row blocks along y; row blocks past 65535 fold into x. */
export function registerDispatch(t: RegisterTile, rows: number, cols4: number, z: number): [number, number, number] {
  if (rows === 0 || cols4 === 0 || z === 0) return [0, 0, 0];
  if (z > MAX_GROUPS) throw new RangeError(`a batch of ${z} products exceeds ${MAX_GROUPS}`);
  const xb = columnBlocks(t, cols4), yb = Math.ceil(rows / rowsPerWorkgroup(t));
  const fold = Math.ceil(yb / MAX_GROUPS);
  return [xb * fold, Math.ceil(yb / fold), z];
}

export function registerFields(t: RegisterTile, rows: number, cols4: number, steps: number, astep: number, b4: number, bz4: number): Field[] {
  return [
    ['rows', 'i32', rows], ['cols4', 'i32', cols4], ['steps', 'i32', steps], ['astep', 'i32', astep], ['b4', 'i32', b4], ['bz4', 'i32', bz4],
    ['xblocks', 'i32', columnBlocks(t, cols4)],
  ];
}

/**
 * The entry point. `rowOffset` is the body of fn row_offset(z: i32, row: i32) -> i32;
 * `store` the body of fn store(z: i32, row: i32, c4: i32, v: vec4<f32>), called only for
 * row < rows and c4 < cols4.
 */
export function registerGemmMain(t: RegisterTile, tabled: boolean, rowOffset: string, store: string): string {
  const { R, V, WG } = t;
  // Row r and column v of this invocation's tile.
  const row = (r: number) => (t.rowLanes ? `row0 + ${r * WG}` : `row0 + ${r}`);
  const col = (v: number) => (t.rowLanes ? `c0 + ${v}` : `c0 + ${v * WG}`);
  let s = `fn row_offset(z: i32, row: i32) -> i32 {\n${rowOffset}\n}\n`;
  s += `fn store(z: i32, row: i32, c4: i32, v: vec4<f32>) {\n${store}\n}\n`;
  s += `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let z = i32(wid.z);
  let block = (i32(wid.x) / p.xblocks) * i32(nwg.y) + i32(wid.y);
${t.rowLanes
    ? `  let row0 = block * ${R * WG} + i32(lid.x);
  let c0 = (i32(wid.x) % p.xblocks) * ${V};`
    : `  let row0 = block * ${R};
  let c0 = (i32(wid.x) % p.xblocks) * ${WG * V} + i32(lid.x);`}
  let bz = z * p.bz4;
`;
  for (let r = 0; r < R; r++) s += `  let ra${r} = row_offset(z, min(${row(r)}, p.rows - 1));\n`;
  for (let v = 0; v < V; v++) s += `  let cb${v} = bz + min(${col(v)}, p.cols4 - 1);\n`;
  s += `  var acc: array<vec4<f32>, ${R * V}>;\n`;
  s += `  for (var s = 0; s < p.steps; s++) {\n    let so = ${tabled ? 'T[s]' : 's * p.astep'};\n    let bs = s * p.b4;\n`;
  for (let v = 0; v < V; v++) s += `    let b${v} = B[bs + cb${v}];\n`;
  for (let r = 0; r < R; r++) {
    s += `    let a${r} = vec4<f32>(A[ra${r} + so]);\n`;
    for (let v = 0; v < V; v++) s += `    acc[${r * V + v}] = fma(a${r}, b${v}, acc[${r * V + v}]);\n`;
  }
  s += '  }\n';
  for (let r = 0; r < R; r++) {
    for (let v = 0; v < V; v++) {
      s += `  if (${row(r)} < p.rows && ${col(v)} < p.cols4) { store(z, ${row(r)}, ${col(v)}, acc[${r * V + v}]); }\n`;
    }
  }
  return s + '}\n';
}
